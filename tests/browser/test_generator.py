"""The generator in a real Chromium, with a real Celery worker: watch progress, approve, implement."""

import datetime
import re

import pytest
from playwright.sync_api import Page, expect

from accounts.demo import seed_demo
from accounts.models import StudentProfile, User
from accounts.tests.factories import DEFAULT_PASSWORD
from config.celery_app import app
from tests.browser.test_flows import sign_in
from timetable.models import TimetableEntry
from timetable.selectors import next_school_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def real_worker():
    """A worker thread on the configured broker, taking both queues (a generation runs on the long one): the run
    is a real task, not one inlined at commit."""
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    app.conf.task_always_eager = False
    try:
        with start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            shutdown_timeout=20,
            queues=[settings.CELERY_TASK_DEFAULT_QUEUE, settings.LONG_TASK_QUEUE],
        ):
            yield
    finally:
        app.conf.task_always_eager = True


def test_admin_generates_a_course_year_watches_progress_approves_and_the_student_sees_it(
    page: Page, live_server, real_worker
):
    seed_demo(students=60)  # a realistic college: 9 sections, 12 teachers, a day of 6 lessons and 2 breaks
    admin = User.objects.get(username="admin")
    student = (
        StudentProfile.objects.select_related("user", "section__programme")
        .filter(section__programme__code="CS", section__year=2)
        .first()
    )
    before = TimetableEntry.objects.filter(section__programme__code="CS", section__year=2).count()
    base = live_server.url
    sign_in(page, base, admin.username, DEFAULT_PASSWORD)
    page.goto(f"{base}/timetable/generate/")
    page.get_by_label("Or a whole course").select_option(label="CS – B.Sc. Computer Science")
    page.get_by_label("…and year").fill("2")
    page.get_by_label("Algorithm").select_option(value="auto")
    page.get_by_label("Time limit (seconds)").fill("8")
    page.get_by_role("button", name="Generate").click()

    expect(page).to_have_url(re.compile(r"/timetable/suggestions/\d+/$"))
    page.evaluate("window.__notReloaded = true")
    progress = page.locator("#progress")
    expect(progress).to_contain_text("Generating", timeout=10_000)
    expect(progress.locator("progress")).to_be_visible()
    expect(progress).to_contain_text(re.compile(r"Lessons placed: [1-9]\d*"), timeout=10_000)
    expect(progress).to_contain_text("Ready for review", timeout=30_000)
    assert page.evaluate("window.__notReloaded === true")  # progress arrived without a reload
    progress.get_by_role("link", name="Show the result").click()
    expect(page.locator("table.diff").first).to_be_visible()

    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text("Suggestion approved.")
    page.get_by_role("button", name="Implement: make it the timetable").click()  # from the next school day
    expect(page.get_by_role("status")).to_contain_text("lessons are the timetable from")
    after = TimetableEntry.objects.filter(section__programme__code="CS", section__year=2).count()
    assert after >= before

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, student.user.username, DEFAULT_PASSWORD)
    start = next_school_day(term=student.section.timetable_entries.first().term)
    after = start + datetime.timedelta(days=7)  # a whole week after the new timetable started
    page.goto(f"{base}/timetable/mine/?week={after.isoformat()}")
    mine = TimetableEntry.objects.filter(section=student.section, active=True).count()
    assert mine == 14
    expect(page.locator("table.timetable .lesson")).to_have_count(mine)
