"""The study assistant in a real Chromium: a streamed answer grows in the page as it is generated.

The app runs under uvicorn (ASGI) in a thread, as `make run` serves it: a WSGI server would hold the whole
answer back until it is finished. The "online" provider is the real `openai` SDK talking to the loopback
stub server, which sends the answer word by word with a pause between words.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD
from ai_features.models import ChatMessage, Sender
from ai_features.tests.stub_llm import Reply, StubLLM
from enrollment.models import Enrollment
from enrollment.tests.factories import SubjectFactory
from tests.asgi_server import AsgiServer
from tests.browser.conftest import PHONE
from tests.browser.test_flows import assert_no_horizontal_overflow, assert_styled, sign_in
from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANSWER = "Start with linked lists tonight, then practise two stack exercises before tomorrow's Algorithms lesson."


@pytest.fixture
def server():
    """Requested before `page` by the tests, so the page closes (and its event streams with it) first."""
    with AsgiServer() as running:
        yield running


@pytest.fixture
def llm():
    stub = StubLLM().start()
    yield stub
    stub.stop()


@pytest.fixture
def school(institute, section, term, subject, teacher_user, student):
    algorithms = SubjectFactory(programme=subject.programme, year=2, code="CS202", name="Algorithms")
    for s in (subject, algorithms):
        Enrollment.objects.create(institute=institute, student=student, subject=s, term=term)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).weekday()
    TimetableEntryFactory(
        term=term,
        section=section,
        subject=algorithms,
        teacher=teacher_user.teacher_profile,
        room=RoomFactory(institute=institute, name="B-204"),
        slot=TimeSlotFactory(institute=institute, order=1, starts_at=datetime.time(9), ends_at=datetime.time(9, 50)),
        day=tomorrow,
    )
    return {"student": student}


def test_a_streamed_answer_appears_piece_by_piece(server, llm, settings, school, page: Page, artifacts):
    settings.AI_PROVIDER, settings.AI_BASE_URL, settings.AI_API_KEY = "openai", llm.openai_base_url, "sk-stub"
    settings.AI_TIMEOUT = 10
    llm.default = Reply(text=ANSWER, chunk_delay=0.15)
    base = server.url
    sign_in(page, base, "asha", DEFAULT_PASSWORD)
    expect(page).to_have_url(f"{base}/dashboard/student/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Study assistant").click()
    expect(page.get_by_role("heading", name="Study assistant", level=1)).to_be_visible()
    assert_styled(page)
    page.get_by_role("button", name="Start a new chat").click()
    expect(page).to_have_url(re.compile(r"/assistant/chats/[0-9a-f-]+/$"))
    page.evaluate("() => { window.samePage = true; }")

    page.get_by_label("Your question").fill("What should I study tonight?")
    page.get_by_role("button", name="Send").click()

    log = page.locator("#chat-log")
    expect(log.locator(".msg-user")).to_have_text(re.compile("What should I study tonight?"))
    bubble = log.locator(".msg-ai").last
    # Part of the answer is on the page while the rest is still being written…
    expect(bubble.locator(".msg-text")).to_contain_text("Start with linked lists", timeout=5000)
    partial = bubble.locator(".msg-text").inner_text()
    assert partial != ANSWER and ANSWER.startswith(partial.strip()), partial
    assert bubble.get_attribute("aria-busy") == "true"
    # …then all of it, and the bubble is done.
    expect(bubble.locator(".msg-text")).to_have_text(ANSWER, timeout=10000)
    expect(bubble).not_to_have_attribute("aria-busy", "true")
    expect(page.get_by_label("Your question")).to_have_value("")
    assert page.evaluate("() => window.samePage === true"), "the page was reloaded"

    answer = ChatMessage.objects.get(sender=Sender.AI)
    assert answer.message == ANSWER and answer.provider == "openai"
    assert answer.context_data["student"]["first_name"] == "Asha"
    assert "asha@example.test" not in llm.everything_sent()

    # The chat is kept: reloading shows the saved answer, and the history lists the chat.
    page.reload()
    expect(page.locator("#chat-log .msg-ai .msg-text").last).to_have_text(ANSWER)
    page.screenshot(path=artifacts / "assistant-chat-desktop.png", full_page=True)
    page.get_by_role("link", name="Study assistant").first.click()
    expect(page.get_by_role("link", name="What should I study tonight?")).to_be_visible()


def test_offline_assistant_answers_a_suggested_question_on_a_phone(server, school, page: Page, artifacts):
    page.set_viewport_size(PHONE)
    # The page's CSP has no 'unsafe-inline': any inline style the answer brings is a violation, recorded here
    # in every document the tab loads (starting a chat navigates to its own page).
    page.add_init_script(
        """window.cspViolations = [];
        document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(e.blockedURI));"""
    )
    base = server.url
    sign_in(page, base, "asha", DEFAULT_PASSWORD)
    page.goto(f"{base}/assistant/")
    page.get_by_role("button", name="Start a new chat").click()
    page.wait_for_url(re.compile(r"/assistant/chats/"))
    page.get_by_role("button", name="What do I have tomorrow?").click()
    bubble = page.locator("#chat-log .msg-ai").last
    expect(bubble.locator(".msg-text")).to_contain_text("Tomorrow (", timeout=10000)
    expect(bubble.locator(".msg-status")).to_have_text("Answered from the school records (offline assistant).")
    # Once complete, the Markdown is swapped for formatted text: a bold heading and a list, no "- " lines.
    expect(bubble.locator(".msg-text strong")).to_contain_text("Tomorrow (")
    expect(bubble.locator(".msg-text li")).to_have_text(re.compile(r"^09:00–09:50 CS202 Algorithms, room B-204"))
    assert "- 09:00" not in bubble.locator(".msg-text").inner_text()
    assert page.evaluate("() => window.cspViolations") == []
    assert page.evaluate("() => document.querySelectorAll('#chat-log [style], #chat-log style').length") == 0
    assert_no_horizontal_overflow(page)
    page.screenshot(path=artifacts / "assistant-chat-phone.png", full_page=True)
