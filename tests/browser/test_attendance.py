"""Taking a register in a real Chromium with the keyboard alone, and the student and guardian seeing it."""

import datetime
import re

import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD
from attendance.models import AttendanceRecord, ClassSession
from attendance.services import Mark, register_save
from attendance.tests import conftest as attendance_fixtures
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_flows import assert_no_horizontal_overflow, assert_styled, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 820, "height": 1180}
klass = attendance_fixtures.klass  # a lesson today for CS 2-A with 4 students enrolled (attendance/tests)


def focused(page: Page) -> dict:
    return page.evaluate(
        "() => { const el = document.activeElement;"
        " return {name: el.getAttribute('name') || '', value: el.value || '', text: el.textContent.trim()}; }"
    )


def tab_until(page: Page, name: str, limit: int = 60, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab), as a keyboard user would, until the element named `name` has the focus."""
    for _ in range(limit):
        page.keyboard.press(key)
        if focused(page)["name"] == name:
            return
    raise AssertionError(f"{name} never got the focus with Tab")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))


def attendance_report_url() -> str | None:
    try:
        return reverse("attendance:me")
    except NoReverseMatch:
        return None


def test_teacher_marks_the_class_with_the_keyboard_and_the_family_sees_it(page: Page, live_server, klass, artifacts):
    base = live_server.url
    asha, pupil1, pupil2, pupil3 = klass["students"]
    teacher = klass["teacher"]
    report = attendance_report_url()
    # Last week's lesson: everyone was there, so Asha's attendance stands at 100 %.
    last_week = klass["date"] - datetime.timedelta(days=7)
    if last_week >= klass["term"].starts_on:
        register_save(
            entry=klass["entry"],
            date=last_week,
            marks=[Mark(student_id=s.pk, status="present") for s in klass["students"]],
            actor=teacher,
        )
    if report and last_week >= klass["term"].starts_on:
        sign_in(page, base, asha.user.username, DEFAULT_PASSWORD)
        page.goto(f"{base}{report}")
        expect(page.get_by_text("100.0 %").first).to_be_visible()
        sign_out(page)

    # The teacher opens today's classes, then the class page.
    sign_in(page, base, teacher.username, DEFAULT_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Classes").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Classes on")
    row = page.get_by_role("row", name=re.compile("CS 2-A"))
    expect(row).to_contain_text("Data Structures")
    row.get_by_role("button", name="Take attendance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("CS 2-A · Data Structures")
    assert_styled(page)

    # Marking with the keyboard alone: Tab into the first student's radios, then one key per student.
    tab_until(page, f"status-{asha.pk}")
    assert focused(page)["value"] == "present"  # everyone starts present
    page.keyboard.press("a")  # Asha absent: on to the next student
    assert focused(page)["name"] == f"status-{pupil1.pk}"
    page.keyboard.press("l")  # late: the minutes are asked for
    assert focused(page)["name"] == f"late-{pupil1.pk}"
    page.keyboard.type("12")
    page.keyboard.press("Enter")  # on to the next student, not a half-done save
    assert focused(page)["name"] == f"status-{pupil2.pk}"
    assert page.url.endswith(f"/{klass['date'].isoformat()}/")
    assert not ClassSession.objects.filter(date=klass["date"]).exists()
    page.keyboard.press("e")  # excused
    assert focused(page)["name"] == f"status-{pupil3.pk}"
    page.keyboard.press("a")
    assert focused(page)["text"] == "Save register"  # the last student done, saving is next
    tab_until(page, f"status-{pupil3.pk}", limit=10, key="Shift+Tab")  # back up: a change of mind
    page.keyboard.press("p")  # present after all
    assert focused(page)["text"] == "Save register"
    counts = page.locator("#register-counts")
    expect(counts).to_contain_text("Present: 1")
    expect(counts).to_contain_text("Absent: 1")
    expect(counts).to_contain_text("Late: 1")
    expect(counts).to_contain_text("Excused: 1")

    # Screenshots of the marked register before saving: a phone (390x844), a tablet, a desktop.
    page.set_viewport_size(PHONE)
    assert_no_horizontal_overflow(page)
    page.screenshot(path=artifacts / "attendance-register-phone.png", full_page=True)
    page.set_viewport_size(TABLET)
    assert_no_horizontal_overflow(page)
    page.screenshot(path=artifacts / "attendance-register-tablet.png", full_page=True)
    page.set_viewport_size(DESKTOP)
    assert_no_horizontal_overflow(page)
    page.screenshot(path=artifacts / "attendance-register-desktop.png", full_page=True)

    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status")).to_contain_text("Saved: 4 marked, 0 changed.")
    marks = dict(AttendanceRecord.objects.filter(session__date=klass["date"]).values_list("student_id", "status"))
    assert marks == {asha.pk: "absent", pupil1.pk: "late", pupil2.pk: "excused", pupil3.pk: "present"}
    assert AttendanceRecord.objects.get(session__date=klass["date"], student=pupil1).minutes_late == 12
    # The saved page shows the marks again, and the day page calls the class taken.
    expect(page.locator(f'input[name="status-{asha.pk}"][value="absent"]')).to_be_checked()
    expect(page.locator(f'input[name="late-{pupil1.pk}"]')).to_have_value("12")
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name="Classes").click()
    expect(page.get_by_role("row", name=re.compile("CS 2-A"))).to_contain_text("Taken · edit")
    sign_out(page)

    # The guardian hears of the absence in the inbox.
    sign_in(page, base, klass["guardian"].username, DEFAULT_PASSWORD)
    page.goto(f"{base}{reverse('notifications:inbox')}")
    expect(page.locator("ul.inbox")).to_contain_text("Asha Rao was absent from Data Structures")
    sign_out(page)

    # The student sees the change where it shows: the attendance report when there is one.
    if report:
        sign_in(page, base, asha.user.username, DEFAULT_PASSWORD)
        page.goto(f"{base}{report}")
        expected = "50.0 %" if last_week >= klass["term"].starts_on else "0.0 %"
        expect(page.get_by_text(expected).first).to_be_visible()
        page.set_viewport_size(PHONE)
        page.screenshot(path=artifacts / "attendance-student-report-phone.png", full_page=True)
