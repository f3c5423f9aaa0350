"""Real-browser fixtures: Debian's Chromium driven by Playwright's sync API.

Every test gets a fresh browser context, and fails if the page logged a console error (this covers
Content-Security-Policy violations and 404s for CSS or scripts) or threw an uncaught exception.

`live_server` here is the app under uvicorn (ASGI), as `make run` serves it, rather than pytest-django's
WSGI server: signed-in pages hold the live event stream open, so every browser test also checks that
the stream works without an error in the console.
"""

import contextlib
import os
from pathlib import Path

import pytest
from django.test.utils import modify_settings
from playwright.sync_api import sync_playwright

from tests.asgi_server import AsgiServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

_console_key = pytest.StashKey["BrowserLog"]()


class BrowserLog:
    """Console errors, uncaught page errors and server errors seen by one page."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.reported = 0
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("response", self._on_response)

    def _on_console(self, msg):
        if msg.type == "error":
            location = msg.location or {}
            where = location.get("url", "")
            self.errors.append(f"console.error: {msg.text} ({where})" if where else f"console.error: {msg.text}")

    def _on_response(self, response):
        if response.status >= 500:
            self.errors.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def flush(self) -> list[str]:
        """Let Playwright dispatch pending events, then return the errors not yet reported."""
        if not self.page.is_closed():
            # A page in the middle of a navigation may refuse; it has nothing more to say then.
            with contextlib.suppress(Exception):
                self.page.evaluate("0")
        new = self.errors[self.reported :]
        self.reported = len(self.errors)
        return new


def _require_chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (never `playwright install`).")


@pytest.fixture(scope="package")
def browser():
    """One Chromium for all browser tests, stopped as soon as they are done.

    While Playwright's sync API is started, an asyncio loop counts as running in this thread, so
    Django refuses ORM calls ("You cannot call this from an async context") unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set. It is set here, in the test process only (never in settings),
    and only while the browser lives: the scope is this package rather than the whole session so that
    neither the running loop nor the variable leak into later tests, or into the subprocesses they
    start (`manage.py check --deploy` warns about the variable).
    """
    _require_chromium()
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def live_server(django_db_setup):
    """Overrides pytest-django's fixture of this name; its `_live_server_helper` still makes each test
    that uses it transactional and lets the server's host in through ALLOWED_HOSTS."""
    with AsgiServer() as server:
        server._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": server.host})
        yield server


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    log = BrowserLog(page)
    request.node.stash[_console_key] = log
    yield page
    late = log.flush()
    context.close()
    if late:
        pytest.fail("The browser reported errors after the test body:\n" + "\n".join(late), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Turn console errors seen during the test body into a test failure (not a teardown error)."""
    try:
        result = yield
    except BaseException:
        log = item.stash.get(_console_key, None)
        if log is not None and (errors := log.flush()):
            item.add_report_section("call", "browser errors", "\n".join(errors))
        raise
    log = item.stash.get(_console_key, None)
    if log is not None and (errors := log.flush()):
        pytest.fail("The browser reported errors:\n" + "\n".join(errors), pytrace=False)
    return result


@pytest.fixture
def browser_log(page, request) -> BrowserLog:
    """The page's error log; `flush()` takes the errors out (only the net's own test needs this)."""
    return request.node.stash[_console_key]


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
