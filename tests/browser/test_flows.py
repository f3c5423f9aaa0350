"""End-to-end flows in a real Chromium against pytest-django's live server (SQLite, eager tasks)."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import GuardianLink, Role, User
from accounts.tests.factories import DEFAULT_PASSWORD
from accounts.tests.helpers import last_code, mails_to
from tests.browser.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STRONG_PASSWORD = "Tr1cky-pass-phrase"


def assert_styled(page: Page) -> None:
    """Pico and campus.css are applied: the skip link is moved off-screen by campus.css."""
    left = page.locator(".skip-link").evaluate("el => getComputedStyle(el).left")
    assert left == "-999px", f"campus.css is not applied (skip-link left={left})"


def assert_no_horizontal_overflow(page: Page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the {page.viewport_size['width']}px viewport"


def sign_in(page: Page, base_url: str, login: str, password: str) -> None:
    if not page.url.startswith(f"{base_url}/login/"):
        page.goto(f"{base_url}/login/")
    page.get_by_label("Email or username").fill(login)
    page.get_by_label(re.compile(r"^Password:?$")).fill(password)
    page.get_by_role("button", name="Sign in").click()


def enter_code(page: Page, email: str) -> None:
    expect(page).to_have_url(re.compile(r"/register/verify/$"))
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.locator("#code-status")).to_contain_text(email)
    page.get_by_label("6-digit code").fill(last_code(email))
    page.get_by_role("button", name="Confirm").click()


def test_student_registers_verifies_and_signs_in(page: Page, live_server, section, artifacts):
    base = live_server.url
    email = "ravi.kumar@example.test"

    # Students register on their phones.
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/register/{section.institute.slug}/")
    expect(page.get_by_role("heading", name="Student registration")).to_be_visible()
    assert_styled(page)
    assert_no_horizontal_overflow(page)
    page.get_by_label("Full name").fill("Ravi Kumar")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Roll number").fill("cs2a042")
    page.get_by_label("Course, year and section").select_option(str(section.pk))
    page.get_by_label(re.compile(r"^Password:?$")).fill(STRONG_PASSWORD)
    page.get_by_label("Password again").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Email me a code").click()

    # The code task ran at commit in the live server thread; the mail is in this process's outbox.
    enter_code(page, email)
    assert len(mails_to(email)) == 1

    expect(page).to_have_url(f"{base}/login/")
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")
    sign_in(page, base, email, STRONG_PASSWORD)

    expect(page).to_have_url(f"{base}/dashboard/student/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ravi")
    expect(page.get_by_text("Roll number CS2A042")).to_be_visible()
    assert_styled(page)
    user = User.objects.get(email=email)
    assert user.role == Role.STUDENT
    assert user.student_profile.section_id == section.pk

    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.screenshot(path=artifacts / "student-dashboard-phone.png", full_page=True)
    assert_no_horizontal_overflow(page)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=artifacts / "student-dashboard-desktop.png", full_page=True)
    assert_no_horizontal_overflow(page)


def test_admin_invites_guardian_who_accepts_and_sees_child(page: Page, live_server, admin_user, student, artifacts):
    base = live_server.url
    email = "priya.rao@example.test"

    # The admin signs in and lands on their dashboard, then invites the guardian.
    sign_in(page, base, admin_user.username, DEFAULT_PASSWORD)
    expect(page).to_have_url(f"{base}/dashboard/admin/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Invitations").click()
    expect(page.get_by_role("heading", name="Invitations")).to_be_visible()
    page.locator("summary", has_text="Invite someone").click()
    page.get_by_label("Full name").fill("Priya Rao")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Role").select_option(Role.GUARDIAN.value)
    page.get_by_label("Roll numbers of the children (guardians)").fill(student.roll_number.lower())
    page.get_by_label("Relationship (guardians)").select_option("mother")
    page.get_by_role("button", name="Send invitation").click()

    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent to {email}")
    row = page.get_by_role("row", name=re.compile("Priya Rao"))
    expect(row).to_contain_text("open · sent")
    page.set_viewport_size(PHONE)
    page.screenshot(path=artifacts / "admin-invitations-phone.png", full_page=True)
    assert_no_horizontal_overflow(page)
    page.set_viewport_size(DESKTOP)

    # The admin signs out; the guardian opens the link from the mail in the same browser.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/login/")
    [invitation_mail] = mails_to(email)
    found = re.search(r"/invite/[^/\s]+/", invitation_mail.body)
    assert found, invitation_mail.body
    page.goto(f"{base}{found.group(0)}")

    expect(page.get_by_role("heading", name="Welcome, Priya Rao")).to_be_visible()
    expect(page.locator("article")).to_contain_text("Guardian")
    page.get_by_label("Choose a username").fill("priya")
    page.get_by_label(re.compile(r"^Password:?$")).fill(STRONG_PASSWORD)
    page.get_by_label("Password again").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Email me a code").click()

    enter_code(page, email)
    expect(page).to_have_url(f"{base}/login/")
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")
    sign_in(page, base, "priya", STRONG_PASSWORD)

    expect(page).to_have_url(f"{base}/dashboard/guardian/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Priya")
    child = page.get_by_role("heading", level=3, name=student.user.full_name)
    expect(child).to_be_visible()
    expect(page.get_by_text("You are their mother")).to_be_visible()
    link = GuardianLink.objects.get(student=student)
    assert link.guardian.user.email == email
    assert link.relationship == "mother"

    # The child's name links to the child's page, which the guardian may open.
    child.get_by_role("link").click()
    expect(page).to_have_url(f"{base}/students/{student.pk}/")
    expect(page.get_by_text(student.user.full_name).first).to_be_visible()
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/dashboard/guardian/")
    page.screenshot(path=artifacts / "guardian-dashboard-phone.png", full_page=True)
    assert_no_horizontal_overflow(page)


def test_page_fixture_catches_csp_violations_and_missing_files(page: Page, live_server, browser_log):
    """The safety net itself: a CSP-blocked inline script and a 404 stylesheet are both recorded."""
    page.goto(f"{live_server.url}/login/")
    assert_styled(page)
    assert browser_log.flush() == []
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.append(script);
            const link = document.createElement("link");
            link.rel = "stylesheet";
            link.href = "/static/css/missing.css";
            document.head.append(link);
        }"""
    )
    page.wait_for_timeout(300)
    errors = browser_log.flush()
    assert page.evaluate("window.injected === undefined")
    assert any("Content Security Policy" in e for e in errors), errors
    assert any("404" in e for e in errors), errors
    assert mail.outbox == []
