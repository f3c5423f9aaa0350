"""Live updates in a real Chromium: an open dashboard shows a new announcement without a reload.

Runs with the database transport, and through Redis when REDIS_URL is set. The server is uvicorn
(tests/browser/conftest.py), the page's event stream is htmx's SSE extension.
"""

import os
import time
import uuid

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD
from announcements.services import announcement_create
from tests.browser.test_flows import sign_in
from utils import live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TRANSPORTS = ["db", pytest.param("redis", marks=pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="no Redis"))]

# Counts the page's event-stream connections; Playwright adds it to every page before the page's own
# scripts (the page's Content-Security-Policy does not apply to it).
COUNT_STREAM_OPENS = (
    "document.addEventListener('htmx:sseOpen', () => { window.liveOpens = (window.liveOpens || 0) + 1 })"
)


@pytest.fixture(params=TRANSPORTS)
def transport(request, settings, monkeypatch):
    settings.REDIS_URL = os.environ["REDIS_URL"] if request.param == "redis" else ""
    monkeypatch.setattr(live, "CHANNEL_PREFIX", f"campus-test-{uuid.uuid4().hex[:8]}:live:u:")
    return request.param


def test_open_dashboard_shows_a_new_announcement_within_2_seconds(
    transport, page: Page, live_server, admin_user, student_user, artifacts
):
    base = live_server.url
    page.add_init_script(COUNT_STREAM_OPENS)
    sign_in(page, base, student_user.username, DEFAULT_PASSWORD)
    expect(page).to_have_url(f"{base}/dashboard/student/")
    feed = page.locator("#announcement-feed")
    expect(feed).to_contain_text("No announcements for you right now.")
    badge = page.locator("#notification-badge")
    expect(badge).to_have_text("Inbox")
    page.wait_for_function("() => window.liveOpens >= 1")
    page.evaluate("() => { window.stillTheSamePage = true }")

    # The admin posts (elsewhere); the fan-out runs at commit and publishes to every recipient.
    started = time.monotonic()
    announcement_create(author=admin_user, title="Sports day moves to Friday", body="Bring **water**.", audience="all")
    expect(feed.get_by_text("Sports day moves to Friday")).to_be_visible(timeout=2000)
    expect(badge).to_contain_text("1", timeout=2000)
    elapsed = time.monotonic() - started
    assert elapsed < 2, f"the announcement took {elapsed:.2f}s to show"

    assert page.evaluate("() => window.stillTheSamePage === true"), "the page was reloaded"
    assert page.evaluate("() => window.liveOpens") == 1, "the event stream reconnected"
    page.screenshot(path=artifacts / f"live-announcement-{transport}.png", full_page=True)


def test_a_page_past_the_users_cap_backs_off_then_connects_when_a_place_frees(
    page: Page, live_server, settings, student_user, browser_log
):
    """A refused stream (429) is retried by htmx's SSE extension with a growing delay, not in a tight loop."""
    settings.REDIS_URL = ""
    settings.LIVE_MAX_STREAMS_PER_USER = 1
    base = live_server.url
    page.add_init_script(COUNT_STREAM_OPENS)
    sign_in(page, base, student_user.username, DEFAULT_PASSWORD)
    expect(page).to_have_url(f"{base}/dashboard/student/")
    page.wait_for_function("() => window.liveOpens >= 1")

    second = page.context.new_page()  # the same person in a second tab (same session)
    second.add_init_script(COUNT_STREAM_OPENS)
    refused = []
    second.on(
        "response", lambda r: refused.append(time.monotonic()) if "/live/events/" in r.url and r.status == 429 else None
    )
    second.goto(f"{base}/dashboard/student/")
    second.wait_for_timeout(4000)  # (lets Playwright deliver the response events meanwhile)
    # Tried at about 0, 0.5, 1.5 and 3.5 s: a few refusals, each answered at once, no reconnect storm.
    assert 2 <= len(refused) <= 5, refused
    assert second.evaluate("() => window.liveOpens || 0") == 0

    page.close()  # the first tab goes away and gives its place back
    second.wait_for_function("() => window.liveOpens >= 1", timeout=12_000)
    expect(second.locator("#announcement-feed")).to_be_visible()
    second.close()
    # Each refusal is logged by htmx's SSE extension as an sseError; nothing else went wrong.
    assert all("sseError" in e or "429" in e for e in browser_log.flush())
