"""The assistant's pages: who may open what (a role-by-URL matrix), sending by htmx, the answer stream,
recommendations, the dashboard card and the navigation."""

import json
from html.parser import HTMLParser

import pytest
from asgiref.sync import async_to_sync
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.tests.factories import GuardianFactory, GuardianLinkFactory
from ai_features import services
from ai_features.models import AIChat, ChatMessage, MessageStatus, RecommendationStatus, Sender, StudyRecommendation
from ai_features.tests.stub_llm import Reply

pytestmark = pytest.mark.django_db


def read_events(response) -> list[tuple[str, dict]]:
    """The server-sent events of a streamed answer (consumed the way an ASGI server would)."""

    async def collect():
        return [part async for part in response.streaming_content]

    events = []
    for block in b"".join(async_to_sync(collect)()).decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


@pytest.fixture
def setup(world, users_by_role, other_institute):
    student, bala, guardian = world["student"], world["bala"], world["guardian"]
    mine = services.chat_create(user=student.user, student=student)
    question = services.chat_message_send(chat=mine, user=student.user, text="What do I have tomorrow?")
    theirs = services.chat_create(user=bala.user, student=bala)
    their_question = services.chat_message_send(chat=theirs, user=bala.user, text="Bala's own question")
    guardian_chat = services.chat_create(user=guardian, student=student)
    recommendation = StudyRecommendation.objects.create(
        institute_id=student.institute_id,
        student=student,
        type="attendance",
        reason_key="attendance:1",
        title="Get back to every Data Structures lesson",
        description="You attended 1 of 2.",
        confidence=0.6,
        generated_on="2026-11-20",
    )
    bala_recommendation = StudyRecommendation.objects.create(
        institute_id=student.institute_id,
        student=bala,
        type="attendance",
        reason_key="attendance:1",
        title="Bala's recommendation",
        description="x",
        confidence=0.6,
        generated_on="2026-11-20",
    )
    other_guardian = GuardianFactory(institute=student.institute, user__full_name="Gopal Nair").user
    return {
        **users_by_role,
        "student": student.user,
        "bala": bala.user,
        "guardian": guardian,
        "other_guardian": other_guardian,
        "mine": mine,
        "question": question,
        "theirs": theirs,
        "their_question": their_question,
        "guardian_chat": guardian_chat,
        "recommendation": recommendation,
        "bala_recommendation": bala_recommendation,
        "world": world,
    }


STAFF = ("admin", "teacher", "counselor", "other_admin")

# (id, method, path(setup), data, {role: expected}); a role not named gets 403; "login" = sent to sign in.
CASES = [
    (
        "index",
        "get",
        lambda s: reverse("ai_features:index"),
        None,
        {"student": 200, "bala": 200, "guardian": 200, "other_guardian": 200},
    ),
    (
        "card",
        "get",
        lambda s: reverse("ai_features:card"),
        None,
        {"student": 200, "bala": 200, "guardian": 200, "other_guardian": 200},
    ),
    (
        "recommendations",
        "get",
        lambda s: reverse("ai_features:recommendations"),
        None,
        {"student": 200, "bala": 200, "guardian": 200, "other_guardian": 200},
    ),
    (
        "chat",
        "get",
        lambda s: reverse("ai_features:chat", args=[s["mine"].session_id]),
        None,
        {"student": 200, "bala": 404, "guardian": 404, "other_guardian": 404},
    ),
    (
        "guardian-chat",
        "get",
        lambda s: reverse("ai_features:chat", args=[s["guardian_chat"].session_id]),
        None,
        {"student": 404, "bala": 404, "guardian": 200, "other_guardian": 404},
    ),
    (
        "send",
        "post",
        lambda s: reverse("ai_features:send", args=[s["mine"].session_id]),
        {"message": "Hi"},
        {"student": 302, "bala": 404, "guardian": 404, "other_guardian": 404},
    ),
    (
        "stream",
        "get",
        lambda s: reverse("ai_features:stream", args=[s["mine"].session_id, s["question"].pk]),
        None,
        {"student": 200, "bala": 404, "guardian": 404, "other_guardian": 404, "anon": 403},
    ),
    (
        "stream-other-chats-question",
        "get",
        lambda s: reverse("ai_features:stream", args=[s["mine"].session_id, s["their_question"].pk]),
        None,
        {"student": 404, "bala": 404, "guardian": 404, "other_guardian": 404, "anon": 403},
    ),
    (
        "retry",
        "post",
        lambda s: reverse("ai_features:retry", args=[s["mine"].session_id, s["question"].pk]),
        {},
        {"student": 302, "bala": 404, "guardian": 404, "other_guardian": 404},
    ),
    (
        "chat-new",
        "post",
        lambda s: reverse("ai_features:chat_new"),
        lambda s: {"student": s["world"]["student"].pk},
        {"student": 302, "bala": 404, "guardian": 302, "other_guardian": 404},
    ),
    (
        "act",
        "post",
        lambda s: reverse("ai_features:recommendation_act", args=[s["recommendation"].pk, "complete"]),
        {},
        {"student": 302, "bala": 404},
    ),
]
ROLES = ("anon", "student", "bala", "guardian", "other_guardian", *STAFF)


@pytest.mark.parametrize(("case", "role"), [pytest.param(c, r, id=f"{c[0]}-{r}") for c in CASES for r in ROLES])
def test_access(client, setup, case, role):
    _id, method, path, data, expected = case
    if role != "anon":
        client.force_login(setup[role])
    url = path(setup)
    body = data(setup) if callable(data) else (data or {})
    response = client.post(url, body) if method == "post" else client.get(url)
    want = expected.get(role, "login" if role == "anon" else 403)
    if want == "login":
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    else:
        assert response.status_code == want
        if want == 302:
            assert not response.url.startswith(reverse("accounts:login"))


def test_every_assistant_url_has_a_case():
    names = set()
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "ai_features":
            names |= {p.name for p in entry.url_patterns if isinstance(p, URLPattern)}
    covered = {"index", "card", "recommendations", "chat", "send", "stream", "retry", "chat_new", "recommendation_act"}
    assert names == covered


def test_nobody_acts_on_someone_elses_recommendation(client, setup):
    client.force_login(setup["student"])
    url = reverse("ai_features:recommendation_act", args=[setup["bala_recommendation"].pk, "dismiss"])
    assert client.post(url).status_code == 404
    setup["bala_recommendation"].refresh_from_db()
    assert setup["bala_recommendation"].status == RecommendationStatus.ACTIVE


def test_a_guardian_whose_link_is_removed_loses_the_chats(client, setup):
    setup["world"]["student"].guardian_links.all().delete()
    client.force_login(setup["guardian"])
    assert client.get(reverse("ai_features:chat", args=[setup["guardian_chat"].session_id])).status_code == 404
    page = client.get(reverse("ai_features:index")).content.decode()
    assert str(setup["guardian_chat"].session_id) not in page


def test_guardian_with_two_children_picks_one(client, setup, section):
    second = GuardianLinkFactory(
        guardian=setup["guardian"].guardian_profile, student__section=section, student__user__full_name="Kiran Rao"
    ).student
    client.force_login(setup["guardian"])
    page = client.get(reverse("ai_features:index")).content.decode()
    assert "Asha Rao" in page and "Kiran Rao" in page and "<select" in page
    response = client.post(reverse("ai_features:chat_new"), {"student": second.pk})
    chat = AIChat.objects.get(session_id=response.url.rstrip("/").rsplit("/", 1)[1])
    assert chat.student == second and chat.user == setup["guardian"]


def test_history_is_listed_and_a_chat_resumes(client, setup):
    client.force_login(setup["student"])
    page = client.get(reverse("ai_features:index")).content.decode()
    assert "What do I have tomorrow?" in page and "Bala" not in page
    page = client.get(reverse("ai_features:chat", args=[setup["mine"].session_id])).content.decode()
    assert "What do I have tomorrow?" in page
    # The unanswered question is waiting for its streamed answer.
    stream_url = reverse("ai_features:stream", args=[setup["mine"].session_id, setup["question"].pk])
    assert f'data-stream-url="{stream_url}"' in page
    assert 'src="/static/js/assistant.js"' in page and "nonce=" in page


def test_send_by_htmx_appends_the_turn_and_empties_the_form(client, setup):
    client.force_login(setup["student"])
    url = reverse("ai_features:send", args=[setup["mine"].session_id])
    response = client.post(url, {"message": "How is my attendance?"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    question = ChatMessage.objects.filter(sender=Sender.USER).latest("id")
    assert question.message == "How is my attendance?" and question.status == MessageStatus.PENDING
    assert "How is my attendance?" in html
    assert reverse("ai_features:stream", args=[setup["mine"].session_id, question.pk]) in html
    assert 'id="chat-form"' in html and 'hx-swap-oob="true"' in html and "How is my attendance?</textarea>" not in html


def test_a_suggestion_leaves_the_form_alone(client, setup):
    client.force_login(setup["student"])
    url = reverse("ai_features:send", args=[setup["mine"].session_id])
    html = client.post(
        url, {"message": "What should I study next?", "suggestion": "1"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "What should I study next?" in html and 'id="chat-form"' not in html


def test_an_over_the_limit_question_stays_in_the_box(client, setup, settings):
    settings.AI_RATE_LIMIT = 1  # the fixture's question used the one allowed
    client.force_login(setup["student"])
    url = reverse("ai_features:send", args=[setup["mine"].session_id])
    response = client.post(url, {"message": "Please keep this text"}, headers={"HX-Request": "true"})
    assert response.status_code == 200  # htmx swaps only 2xx
    html = response.content.decode()
    assert "Please keep this text</textarea>" in html and "faster than the assistant allows" in html
    assert not ChatMessage.objects.filter(message="Please keep this text").exists()
    # Without htmx: the whole page again, with the text kept.
    page = client.post(url, {"message": "Please keep this text"}).content.decode()
    assert "Please keep this text</textarea>" in page and '<h1 id="chat-title">' in page


def test_the_stream_sends_the_answer_in_pieces_and_saves_it(client, setup):
    client.force_login(setup["student"])
    url = reverse("ai_features:stream", args=[setup["mine"].session_id, setup["question"].pk])
    response = client.get(url)
    assert response["Content-Type"] == "text/event-stream" and response["Cache-Control"] == "no-cache"
    events = read_events(response)
    tokens = [d["t"] for e, d in events if e == "token"]
    assert len(tokens) > 5 and events[-1][0] == "done"
    answer = ChatMessage.objects.get(reply_to=setup["question"])
    assert "".join(tokens) == answer.message and "CS202 Algorithms" in answer.message
    assert events[-1][1]["id"] == answer.pk
    assert answer.context_data["student"]["first_name"] == "Asha"
    # Opened again (a reload): the saved answer, not a second one.
    again = read_events(client.get(url))
    assert again == [("token", {"t": answer.message}), ("done", events[-1][1])]
    assert ChatMessage.objects.filter(sender=Sender.AI).count() == 1


def test_the_stream_reports_a_failure_and_retry_asks_again(client, setup, use_openai, settings):
    settings.AI_FALLBACK_OFFLINE = False
    use_openai.then(*[Reply(status=500)] * 3)
    client.force_login(setup["student"])
    url = reverse("ai_features:stream", args=[setup["mine"].session_id, setup["question"].pk])
    events = read_events(client.get(url))
    assert events[-1][0] == "failure" and events[-1][1]["retry"] is True
    page = client.get(reverse("ai_features:chat", args=[setup["mine"].session_id])).content.decode()
    assert "Try again" in page and "problem" in page
    retry = reverse("ai_features:retry", args=[setup["mine"].session_id, setup["question"].pk])
    html = client.post(retry, headers={"HX-Request": "true"}).content.decode()
    assert f'data-stream-url="{url}"' in html
    events = read_events(client.get(url))
    assert events[-1][0] == "done"


def test_recommendations_page_and_acting_by_htmx(client, setup):
    client.force_login(setup["student"])
    page = client.get(reverse("ai_features:recommendations")).content.decode()
    assert "Get back to every Data Structures lesson" in page and "Bala's recommendation" not in page
    url = reverse("ai_features:recommendation_act", args=[setup["recommendation"].pk, "dismiss"])
    html = client.post(url, headers={"HX-Request": "true"}).content.decode()
    assert "Dismissed" in html
    setup["recommendation"].refresh_from_db()
    assert setup["recommendation"].status == RecommendationStatus.DISMISSED
    assert "already closed" in client.post(url, headers={"HX-Request": "true"}).content.decode()
    bad = reverse("ai_features:recommendation_act", args=[setup["recommendation"].pk, "explode"])
    assert client.post(bad).status_code == 400


def test_guardian_reads_the_childs_recommendations_without_buttons(client, setup):
    client.force_login(setup["guardian"])
    page = client.get(reverse("ai_features:recommendations")).content.decode()
    assert "Get back to every Data Structures lesson" in page and "Dismiss" not in page
    assert "Bala's recommendation" not in page


def test_dashboard_card_and_navigation(client, setup):
    client.force_login(setup["student"])
    dashboard = client.get(reverse("accounts:dashboard_student")).content.decode()
    assert reverse("ai_features:card") in dashboard and 'href="/assistant/"' in dashboard
    card = client.get(reverse("ai_features:card")).content.decode()
    assert "Get back to every Data Structures lesson" in card and "Ask the assistant" in card
    client.force_login(setup["guardian"])
    assert reverse("ai_features:card") in client.get(reverse("accounts:dashboard_guardian")).content.decode()
    client.force_login(setup["teacher"])
    assert 'href="/assistant/"' not in client.get(reverse("accounts:dashboard_teacher")).content.decode()


def test_answers_are_rendered_markdown_with_the_done_event_carrying_the_html(client, setup):
    client.force_login(setup["student"])
    url = reverse("ai_features:stream", args=[setup["mine"].session_id, setup["question"].pk])
    events = read_events(client.get(url))
    html = events[-1][1]["html"]
    assert html.startswith("<p><strong>Tomorrow (") and "<li>10:00–10:50 CS202 Algorithms, room B-204" in html
    page = client.get(reverse("ai_features:chat", args=[setup["mine"].session_id])).content.decode()
    assert '<div class="msg-text msg-md"><p><strong>Tomorrow (' in page
    assert "<ul>\n<li>10:00–10:50 CS202 Algorithms" in page and "- 10:00" not in page


def test_markup_in_a_record_is_shown_as_text_and_answers_carry_no_inline_style(client, setup):
    """A subject called "<script>…" is escaped; nothing in an answer has a style attribute (the CSP has no
    'unsafe-inline'), even Markdown that the tables extension would have aligned with style="…"."""
    world = setup["world"]
    world["algorithms"].name = '<script>alert("x")</script><b style="color:red">Algo</b>'
    world["algorithms"].save()
    client.force_login(setup["student"])
    url = reverse("ai_features:stream", args=[setup["mine"].session_id, setup["question"].pk])
    events = read_events(client.get(url))
    html = events[-1][1]["html"]
    assert (
        "<script>" not in html
        and "&lt;script&gt;alert" in html
        and "style=" not in html.replace("&quot;", '"').split("&lt;b ")[0]
    )
    ChatMessage.objects.filter(reply_to=setup["question"]).update(
        message='| a | b |\n|:--|--:|\n| 1 | 2 |\n\n**ok** <span style="color:red">x</span>'
    )
    response = client.get(reverse("ai_features:chat", args=[setup["mine"].session_id]))
    page = response.content.decode()
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "<script>alert" not in page and "<strong>ok</strong>" in page
    assert _styled_elements(page) == []


def _styled_elements(page: str) -> list[str]:
    """Elements with a style attribute, and <style> elements (escaped text such as "&lt;b style=" is fine)."""
    found = []

    class Finder(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "style" or any(name == "style" for name, _v in attrs):
                found.append(tag)

    Finder().feed(page)
    return found


def test_the_first_question_names_the_chat_on_the_page(client, setup):
    client.force_login(setup["student"])
    chat = services.chat_create(user=setup["student"], student=setup["world"]["student"])
    url = reverse("ai_features:send", args=[chat.session_id])
    html = client.post(url, {"message": "Which topics did I miss?"}, headers={"HX-Request": "true"}).content.decode()
    assert '<h1 id="chat-title" hx-swap-oob="true">Which topics did I miss?</h1>' in html
    html = client.post(url, {"message": "And tomorrow?"}, headers={"HX-Request": "true"}).content.decode()
    assert "chat-title" not in html
