"""A register survives a new week: take it, implement a generated week from next Monday, open it again."""

import datetime
import re

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD
from attendance.models import AttendanceRecord, ClassSession
from attendance.tests import conftest as attendance_fixtures
from tests.browser.test_attendance import sign_out
from tests.browser.test_flows import sign_in
from tests.browser.test_timetable import choose
from timetable.models import SuggestionStatus, TimetableEntry, TimetableSuggestion, Weekday
from timetable.tests.factories import TimeSlotFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

klass = attendance_fixtures.klass  # a lesson today at 09:00 for CS 2-A with 4 students enrolled


def test_a_register_taken_today_survives_a_new_week_from_next_monday(page: Page, live_server, klass, admin_user):
    base = live_server.url
    today = klass["date"]
    monday = today + datetime.timedelta(days=7 - today.weekday())
    if monday > klass["term"].ends_on:
        pytest.skip("the term ends before next Monday")
    entry, teacher, asha = klass["entry"], klass["teacher"], klass["students"][0]
    eleven = TimeSlotFactory(
        institute=klass["term"].institute, order=5, starts_at=datetime.time(11), ends_at=datetime.time(11, 50)
    )
    # The generated week (made by the engine elsewhere; here its result): the class moves to Monday 11:00.
    suggestion = TimetableSuggestion.objects.create(
        institute=klass["term"].institute,
        term=klass["term"],
        section=klass["section"],
        status=SuggestionStatus.GENERATED,
        score=0,
        data=[
            {
                "section_id": entry.section_id,
                "subject_id": entry.subject_id,
                "teacher_id": entry.teacher_id,
                "room_id": entry.room_id,
                "day": 0,
                "slot_id": eleven.pk,
            }
        ],
    )

    # The teacher takes today's register.
    sign_in(page, base, teacher.username, DEFAULT_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Classes").click()
    page.get_by_role("row", name=re.compile("CS 2-A")).get_by_role("button", name="Take attendance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("CS 2-A · Data Structures")
    register_url = page.url
    page.get_by_role("button", name="Save register").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: 4 marked, 0 changed.")
    sign_out(page)

    # The admin approves the generated week and implements it from next Monday.
    sign_in(page, base, admin_user.username, DEFAULT_PASSWORD)
    page.goto(f"{base}/timetable/suggestions/{suggestion.pk}/")
    expect(page.locator("#penalties")).to_contain_text("Current week")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text("Suggestion approved.")
    page.get_by_label("From").fill(monday.isoformat())
    page.get_by_role("button", name=re.compile("Implement")).click()
    expect(page.get_by_role("status")).to_contain_text(f"lessons are the timetable from Monday {monday:%d}")
    sign_out(page)

    # The same register is still there, with its marks, and can be changed.
    sign_in(page, base, teacher.username, DEFAULT_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Classes").click()
    row = page.get_by_role("row", name=re.compile("CS 2-A"))
    expect(row).to_contain_text("09:00")
    row.get_by_role("button", name="Taken · edit").click()
    assert page.url == register_url
    expect(page.get_by_role("heading", level=1)).to_have_text("CS 2-A · Data Structures")
    page.locator(f'input[name="status-{asha.pk}"][value="absent"]').check()
    page.get_by_role("button", name="Save register").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: 4 marked, 1 changed.")
    assert ClassSession.objects.get().entry_id == entry.pk
    assert AttendanceRecord.objects.get(student=asha).status == "absent"

    # The new week starts on Monday: 11:00 that day, nothing left at 09:00 on the old weekday after it.
    page.goto(f"{base}/attendance/today/?date={monday.isoformat()}")
    expect(page.get_by_role("row", name=re.compile("CS 2-A"))).to_contain_text("11:00")
    sunday = monday - datetime.timedelta(days=1)
    assert TimetableEntry.objects.get(pk=entry.pk).valid_until == monday
    page.goto(f"{base}/attendance/today/?date={(monday + datetime.timedelta(days=today.weekday())).isoformat()}")
    if today.weekday() != 0:
        expect(page.get_by_text("No classes on this day.")).to_be_visible()
    assert TimetableEntry.objects.active().get(section=klass["section"]).valid_from == monday > sunday


def test_the_builder_teacher_list_refreshes_when_the_day_changes(page: Page, live_server, klass, admin_user):
    from accounts.tests.factories import TeacherFactory
    from enrollment.tests.factories import ClassSectionFactory
    from timetable.tests.factories import RoomFactory, TimetableEntryFactory

    base = live_server.url
    # Two working days other than the class's own (today's), where its cells are free.
    busy_day, free_day = [d for d in range(5) if d != klass["date"].weekday()][:2]
    busy_name, free_name = str(Weekday(busy_day).label), str(Weekday(free_day).label)
    nina = TeacherFactory(institute=klass["term"].institute, user__full_name="Nina Das", subjects=[klass["subject"]])
    TimetableEntryFactory(  # Nina teaches the other class on `busy_day` at 09:00
        term=klass["term"],
        section=ClassSectionFactory(programme=klass["section"].programme, year=2, name="B"),
        subject=klass["subject"],
        teacher=nina,
        room=RoomFactory(institute=klass["term"].institute, name="Lab-1"),
        slot=klass["slot"],
        day=busy_day,
    )
    sign_in(page, base, admin_user.username, DEFAULT_PASSWORD)
    page.goto(f"{base}/timetable/terms/{klass['term'].pk}/sections/{klass['section'].pk}/build/")
    expect(page.locator("#edits-from")).to_contain_text("latest version")
    page.get_by_role("button", name=f"Add a lesson on {busy_name} at 09:00").click()
    teachers = page.locator("#id_teacher")
    expect(teachers).to_contain_text(klass["teacher"].full_name)
    expect(teachers).not_to_contain_text("Nina Das")
    choose(page.locator("#cell-editor"), "Day", free_name)
    expect(teachers).to_contain_text("Nina Das")  # the list follows the day chosen, without a reload
    expect(page.locator("#teacher-hint")).to_contain_text(free_name)
    choose(page.locator("#cell-editor"), "Day", busy_name)
    expect(teachers).not_to_contain_text("Nina Das")
