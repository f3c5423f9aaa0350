"""The timetable builder in a real Chromium: placing lessons by htmx, a named clash, the student's week."""

import datetime
import re

import pytest
from playwright.sync_api import Locator, Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD, StudentFactory, TeacherFactory
from enrollment.tests.factories import ClassSectionFactory, EnrollmentFactory, SubjectFactory
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_flows import assert_no_horizontal_overflow, assert_styled, sign_in
from timetable.models import TimeSlot, TimetableEntry
from timetable.tests.factories import RoomFactory, TimeSlotFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def school(institute, programme, section, subject, term, student):
    """The small school of timetable/tests/conftest.py's `week`: 3 lesson slots and a break, two rooms,
    two teachers qualified for both subjects of year 2, and a second section CS 2-B."""
    TimeSlotFactory(institute=institute, order=1, starts_at=datetime.time(9), ends_at=datetime.time(9, 50))
    TimeSlotFactory(institute=institute, order=2, starts_at=datetime.time(10), ends_at=datetime.time(10, 50))
    TimeSlot.objects.create(
        institute=institute,
        order=3,
        starts_at=datetime.time(11),
        ends_at=datetime.time(11, 20),
        is_break=True,
        label="Break",
    )
    TimeSlotFactory(institute=institute, order=4, starts_at=datetime.time(11, 30), ends_at=datetime.time(12, 20))
    physics = SubjectFactory(programme=programme, year=2, code="CS202", name="Physics")
    StudentFactory(section=section, term=term)
    for enrolled in (subject, physics):  # the student sees the lessons of the subjects enrolled in
        EnrollmentFactory(student=student, subject=enrolled, term=term)
    return {
        "term": term,
        "section": section,
        "other_section": ClassSectionFactory(programme=programme, year=2, name="B"),
        "subject": subject,
        "physics": physics,
        "big_room": RoomFactory(institute=institute, name="B-204", capacity=40),
        "lab": RoomFactory(institute=institute, name="Lab-1", capacity=40),
        "ravi": TeacherFactory(institute=institute, user__full_name="Ravi Iyer", subjects=[subject, physics]),
        "nina": TeacherFactory(institute=institute, user__full_name="Nina Das", subjects=[subject, physics]),
        "student": student,
    }


def grid_cell(page: Page, day: str, time: str) -> Locator:
    """The cell of the timetable grid on `day` (e.g. "Tuesday") in the row that starts at `time` ("10:00")."""
    table = page.locator("table.timetable")
    days = table.locator("thead th").all_inner_texts()[1:]
    row = table.locator("tbody tr").filter(has=page.get_by_role("rowheader", name=re.compile(f"^{time}")))
    return row.locator("td").nth(days.index(day))


def still_to_place(page: Page, subject_name: str) -> Locator:
    """The "Left" cell of a subject in the builder's "Still to place" table."""
    section = page.locator("#builder section").filter(has=page.get_by_role("heading", name="Still to place"))
    return section.get_by_role("row", name=re.compile(subject_name)).locator("td").nth(3)


def mark_page(page: Page) -> None:
    """Tag the loaded document: the tag survives htmx swaps but not a reload or a navigation."""
    page.evaluate("() => { window.campusNoReload = true; }")


def assert_not_reloaded(page: Page, url: str) -> None:
    assert page.url == url
    assert page.evaluate("() => window.campusNoReload === true"), "the page was reloaded"


def tab_to(page: Page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element's accessible label is `name`, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        label = page.evaluate(
            "() => { const el = document.activeElement;"
            " return el ? (el.getAttribute('aria-label') || el.textContent.trim()) : ''; }"
        )
        if label == name:
            return
    pytest.fail(f"{name!r} was not reached with {limit} presses of Tab")


def choose(editor: Locator, label: str, option: str) -> None:
    """Pick in a select that redraws the form (subject, day, time) and wait until the redrawn form is in."""
    page = editor.page
    # Only a redraw counts, not a swap still settling from opening the form: a redraw's request names a subject.
    page.evaluate(
        "() => { delete document.body.dataset.redrawn;"
        " const done = (e) => { const xhr = e.detail && e.detail.xhr;"
        " if (xhr && xhr.responseURL.includes('subject=')) {"
        " document.body.dataset.redrawn = '1'; document.body.removeEventListener('htmx:afterSettle', done); } };"
        " document.body.addEventListener('htmx:afterSettle', done); }"
    )
    select = editor.get_by_label(label, exact=True)
    # Under load the form can be on the page before htmx has processed it; a change then would be missed.
    select.evaluate("(el) => new Promise((ok) => { const f = () => el['htmx-internal-data'] &&"
                    " el['htmx-internal-data'].initHash ? ok() : setTimeout(f, 20); f(); })")
    select.select_option(label=option)
    expect(page.locator("body")).to_have_attribute("data-redrawn", "1", timeout=15000)


def screenshots(page: Page, artifacts, name: str) -> None:
    page.set_viewport_size(PHONE)
    page.screenshot(path=artifacts / f"{name}-phone.png", full_page=True)
    assert_no_horizontal_overflow(page)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=artifacts / f"{name}-desktop.png", full_page=True)
    assert_no_horizontal_overflow(page)


def test_admin_builds_a_week_meets_a_clash_and_the_student_sees_it(
    page: Page, live_server, admin_user, school, artifacts
):
    base = live_server.url
    term, section_a, section_b = school["term"], school["section"], school["other_section"]
    builder_a = f"{base}/timetable/terms/{term.pk}/sections/{section_a.pk}/build/"
    builder_b = f"{base}/timetable/terms/{term.pk}/sections/{section_b.pk}/build/"

    # The admin signs in and reaches CS 2-A's builder through the menu.
    sign_in(page, base, admin_user.username, DEFAULT_PASSWORD)
    expect(page).to_have_url(f"{base}/dashboard/admin/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Timetables").click()
    page.get_by_role("link", name="CS 2-A", exact=True).click()
    expect(page).to_have_url(builder_a)
    expect(page.get_by_role("heading", level=1)).to_have_text("Week of CS 2-A")
    assert_styled(page)
    expect(still_to_place(page, "Physics")).to_have_text("3")
    mark_page(page)

    # 1. Tuesday 10:00: Physics with Ravi Iyer in B-204, by mouse.
    page.get_by_role("button", name="Add a lesson on Tuesday at 10:00").click()
    editor = page.locator("#cell-editor")
    expect(editor.get_by_role("heading", name="Add a lesson · Tuesday 10:00")).to_be_visible()
    choose(editor, "Subject", "CS202 Physics (3 left)")
    editor.get_by_label("Teacher").select_option(label="Ravi Iyer")
    editor.get_by_label("Room").select_option(label="B-204 (40)")
    expect(editor.get_by_label("Day", exact=True)).to_have_value("1")
    screenshots(page, artifacts, "timetable-builder-form")
    editor.get_by_role("button", name="Place lesson").click()

    tuesday_10 = grid_cell(page, "Tuesday", "10:00")
    expect(tuesday_10.locator(".lesson")).to_contain_text("Physics")
    expect(tuesday_10.locator(".lesson")).to_contain_text("Ravi Iyer · B-204")
    expect(page.get_by_role("status")).to_have_text("Placed Physics.")
    expect(still_to_place(page, "Physics")).to_have_text("2")
    expect(editor).to_be_empty()
    assert_not_reloaded(page, builder_a)

    # 2. Wednesday 09:00 with the keyboard only: Data Structures with Ravi Iyer in Lab-1.
    tab_to(page, "Add a lesson on Wednesday at 09:00")
    page.keyboard.press("Enter")
    expect(editor.get_by_role("heading", name="Add a lesson · Wednesday 09:00")).to_be_visible()
    subject = editor.get_by_label("Subject")
    expect(subject).to_be_focused()  # autofocus: the keyboard user starts in the form
    expect(subject.locator("option:checked")).to_have_text("CS201 Data Structures (3 left)")
    page.keyboard.press("Tab")
    expect(editor.get_by_label("Teacher")).to_be_focused()
    expect(editor.get_by_label("Teacher").locator("option:checked")).to_have_text("Nina Das")
    page.keyboard.press("ArrowDown")
    expect(editor.get_by_label("Teacher").locator("option:checked")).to_have_text("Ravi Iyer")
    page.keyboard.press("Tab")
    expect(editor.get_by_label("Room")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(editor.get_by_label("Room").locator("option:checked")).to_have_text("Lab-1 (40)")
    tab_to(page, "Place lesson", limit=5)
    page.keyboard.press("Enter")

    wednesday_9 = grid_cell(page, "Wednesday", "09:00")
    expect(wednesday_9.locator(".lesson")).to_contain_text("Data Structures")
    expect(wednesday_9.locator(".lesson")).to_contain_text("Ravi Iyer · Lab-1")
    expect(still_to_place(page, "Data Structures")).to_have_text("2")
    expect(still_to_place(page, "Physics")).to_have_text("2")
    assert_not_reloaded(page, builder_a)
    assert TimetableEntry.objects.filter(term=term, section=section_a).count() == 2
    screenshots(page, artifacts, "timetable-builder")

    # "Change" opens the lesson as it is: its own subject, teacher and room are the ones selected.
    page.get_by_role("button", name="Change Physics on Tuesday at 10:00").click()
    expect(editor.get_by_role("heading", name="Change Physics · Tuesday 10:00")).to_be_visible()
    expect(editor.get_by_label("Subject").locator("option:checked")).to_have_text("CS202 Physics (2 left)")
    expect(editor.get_by_label("Teacher").locator("option:checked")).to_have_text("Ravi Iyer")
    expect(editor.get_by_label("Room").locator("option:checked")).to_have_text("B-204 (40)")
    expect(editor.get_by_label("Time", exact=True).locator("option:checked")).to_have_text("10:00–10:50")

    # 3. CS 2-B: the admin opens a free cell, picks Ravi Iyer (free then), and moves the lesson to
    # Tuesday 10:00 with the Day and Time selects, where Ravi Iyer already teaches CS 2-A.
    page.get_by_role("link", name="Timetables").first.click()
    page.get_by_role("link", name="CS 2-B", exact=True).click()
    expect(page).to_have_url(builder_b)
    mark_page(page)
    page.set_viewport_size(PHONE)  # this time on a phone
    page.get_by_role("button", name="Add a lesson on Monday at 09:00").click()
    expect(editor.get_by_role("heading", name="Add a lesson · Monday 09:00")).to_be_visible()
    expect(editor.get_by_label("Subject")).to_be_in_viewport()
    choose(editor, "Subject", "CS202 Physics (3 left)")
    teachers = editor.get_by_label("Teacher")
    expect(teachers).to_contain_text("Ravi Iyer")  # free on Monday 09:00
    editor.get_by_label("Room").select_option(label="Lab-1 (40)")
    choose(editor, "Day", "Tuesday")
    choose(editor, "Time", "10:00–10:50")
    # The lists follow the day and time: Ravi Iyer teaches CS 2-A then, so he is no longer offered (the
    # service would refuse him anyway, naming the clash). What was chosen stays chosen.
    expect(editor.get_by_role("heading", name="Add a lesson · Tuesday 10:00")).to_be_visible()
    expect(teachers).not_to_contain_text("Ravi Iyer")
    expect(editor.get_by_label("Subject").locator("option:checked")).to_have_text("CS202 Physics (3 left)")
    expect(editor.get_by_label("Room").locator("option:checked")).to_have_text("Lab-1 (40)")
    expect(editor.get_by_label("Day", exact=True).locator("option:checked")).to_have_text("Tuesday")
    expect(editor.get_by_label("Time", exact=True).locator("option:checked")).to_have_text("10:00–10:50")
    assert_not_reloaded(page, builder_b)
    assert not TimetableEntry.objects.filter(term=term, section=section_b).exists()
    screenshots(page, artifacts, "timetable-builder-clash")

    page.set_viewport_size(PHONE)
    editor.get_by_label("Teacher").select_option(label="Nina Das")
    editor.get_by_role("button", name="Place lesson").click()
    expect(grid_cell(page, "Tuesday", "10:00").locator(".lesson")).to_contain_text("Nina Das · Lab-1")
    expect(page.get_by_role("status")).to_have_text("Placed Physics.")
    expect(page.get_by_role("status")).to_be_in_viewport()
    expect(still_to_place(page, "Physics")).to_have_text("2")
    assert_not_reloaded(page, builder_b)

    # 4. The student of CS 2-A sees today's card on the dashboard and the two lessons in the week.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/login/")
    sign_in(page, base, school["student"].user.username, DEFAULT_PASSWORD)
    expect(page).to_have_url(f"{base}/dashboard/student/")
    today = page.locator("article").filter(has=page.get_by_role("heading", name="Today"))
    expect(today).to_be_visible()
    expect(today).to_contain_text(re.compile(r"Next: (Today|Tomorrow|Tuesday|Wednesday) \d\d:\d\d · "))
    expect(today.get_by_text(re.compile(r"^No lessons today\.$|–"))).not_to_have_count(0)
    screenshots(page, artifacts, "timetable-student-dashboard")
    today.get_by_role("link", name="Whole week").click()

    expect(page).to_have_url(f"{base}/timetable/mine/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My timetable")
    expect(grid_cell(page, "Tuesday", "10:00")).to_contain_text("Physics")
    expect(grid_cell(page, "Tuesday", "10:00")).to_contain_text("Ravi Iyer · B-204")
    expect(grid_cell(page, "Wednesday", "09:00")).to_contain_text("Data Structures")
    expect(page.locator("table.timetable .lesson")).to_have_count(2)
    expect(page.get_by_text("Nina Das")).to_have_count(0)  # CS 2-B's lesson is not theirs
    screenshots(page, artifacts, "timetable-student-week")

    # On a phone the week is a list per day rather than a grid five days wide.
    page.set_viewport_size(PHONE)
    by_day = page.get_by_role("region", name="Class CS 2-A by day")
    expect(by_day).to_be_visible()
    expect(page.locator("table.timetable")).to_be_hidden()
    expect(by_day.locator("h3:text-is('Tuesday') + ol")).to_have_text(
        re.compile(r"^10:00–10:50 Physics CS202\s*Ravi Iyer · B-204$")
    )
    expect(by_day.locator("h3:text-is('Wednesday') + ol")).to_contain_text("09:00–09:50 Data Structures")
    expect(by_day.locator("h3:text-is('Monday') + p")).to_have_text("No lessons.")
    assert_no_horizontal_overflow(page)
