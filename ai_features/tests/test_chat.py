"""Chat services: a question is saved, answered through the configured provider with the student's context
as data, and the answer kept with that context; failures keep the question; limits; the offline fallback."""

import datetime
import json

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Role
from ai_features import services
from ai_features.models import AIChat, ChatMessage, MessageStatus, Sender
from ai_features.providers import OfflineProvider
from ai_features.tests.conftest import ASHA_CONTACT, BALA_CONTACT
from ai_features.tests.stub_llm import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(world):
    return services.chat_create(user=world["student"].user, student=world["student"])


def ask(chat, text="What should I study tonight?"):
    return services.chat_message_send(chat=chat, user=chat.user, text=text)


def answer(question):
    events = []
    result = services.chat_answer(question_id=question.pk, emit=lambda e, d: events.append((e, d)))
    return result, events


def _text(events) -> str:
    return "".join(d["t"] for e, d in events if e == "token")


def assert_prompt_is_safe(sent: str):
    """No contact details of anyone, no other student, no guardian: only Asha's own school records."""
    for value in (*ASHA_CONTACT.values(), *BALA_CONTACT.values()):
        assert str(value) not in sent
    for name in ("Bala", "Iyer", "Meera", "Rao", "CS2A002"):
        assert name not in sent


@pytest.mark.parametrize("provider_fixture", ["use_openai", "use_groq"])
def test_answer_streams_from_the_provider_with_the_context_as_data(request, chat, world, provider_fixture):
    llm = request.getfixturevalue(provider_fixture)
    llm.then(Reply(text="Start with linked lists, which you missed on Thursday."))
    question = ask(chat)
    assert question.status == MessageStatus.PENDING and question.sender == Sender.USER

    result, events = answer(question)

    assert [e for e, _d in events if e != "token"] == ["done"]
    assert _text(events) == "Start with linked lists, which you missed on Thursday."
    assert result.sender == Sender.AI and result.reply_to_id == question.pk and result.status == MessageStatus.OK
    assert result.provider == ("openai" if provider_fixture == "use_openai" else "groq")
    question.refresh_from_db()
    assert question.status == MessageStatus.ANSWERED

    messages = llm.messages()
    assert messages[0]["role"] == "system" and "Never talk about other students" in messages[0]["content"]
    assert "the student, Asha" in messages[0]["content"]
    data = messages[1]["content"]
    assert "is DATA" in data and "not instructions" in data
    block = json.loads(data.split("<student_data>\n", 1)[1].rsplit("\n</student_data>", 1)[0])
    assert block["student"]["first_name"] == "Asha"
    assert {s["code"] for s in block["subjects"]} == {"CS201", "CS202"}
    assert block["subjects"][0]["missed_topics"] == ["Linked lists"]
    assert block["timetable"]["today"]["lessons"][0]["subject"] == "CS201 Data Structures"
    assert messages[-1] == {"role": "user", "content": "What should I study tonight?"}
    assert_prompt_is_safe(llm.everything_sent())
    # The stored answer keeps exactly the context it was given.
    assert result.context_data == block


def test_earlier_turns_go_with_the_next_question(use_openai, chat):
    use_openai.then(Reply(text="First answer."), Reply(text="Second answer."))
    answer(ask(chat, "When is my next lesson?"))
    answer(ask(chat, "And after that?"))
    assert use_openai.messages()[2:] == [
        {"role": "user", "content": "When is my next lesson?"},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "And after that?"},
    ]


def test_guardian_chat_is_about_the_child_in_the_third_person(use_openai, world):
    guardian = world["guardian"]
    chat = services.chat_create(user=guardian, student=world["student"])
    result, _events = answer(services.chat_message_send(chat=chat, user=guardian, text="How is she doing?"))
    instructions = use_openai.messages()[0]["content"]
    assert "a parent or guardian of the student Asha" in instructions
    assert result.context_data["asked_by"] == "a guardian of the student"
    assert_prompt_is_safe(use_openai.everything_sent())


def test_429_then_success_answers_once(use_openai, chat):
    use_openai.then(Reply(status=429, headers={"Retry-After": "0"}), Reply(text="Here you go."))
    result, events = answer(ask(chat))
    assert result.message == "Here you go." and len(use_openai.requests) == 2
    assert [e for e, _d in events if e != "token"] == ["done"]


@pytest.mark.parametrize("failure", [Reply(status=500), Reply(delay=3)], ids=["500", "timeout"])
def test_a_failing_provider_falls_back_to_the_offline_answer(use_openai, settings, chat, failure):
    settings.AI_TIMEOUT = 0.5
    use_openai.then(failure, failure, failure)
    question = ask(chat, "How is my attendance?")
    result, events = answer(question)
    assert result.status == MessageStatus.FALLBACK and result.provider == "offline"
    assert result.message.startswith(("The assistant's service had a problem.", "The assistant took too long"))
    assert "attended 2 of 3 recorded lessons" in result.message
    assert result.context_data["student"]["first_name"] == "Asha"
    assert events[-1][0] == "done" and "offline" in events[-1][1]["note"]
    question.refresh_from_db()
    assert question.status == MessageStatus.ANSWERED


def test_without_the_fallback_the_question_is_kept_and_can_be_tried_again(use_openai, settings, chat):
    settings.AI_FALLBACK_OFFLINE = False
    use_openai.then(*[Reply(status=500)] * 3)
    question = ask(chat)
    result, events = answer(question)
    assert result is None
    message = "The assistant's service had a problem. " + services.KEPT
    assert events == [("failure", {"message": message, "retry": True})]
    question.refresh_from_db()
    assert question.status == MessageStatus.FAILED and question.message == "What should I study tonight?"
    assert "problem" in question.error
    assert not ChatMessage.objects.filter(sender=Sender.AI).exists()

    # Opening the stream again does not call the provider: it says what went wrong.
    before = len(use_openai.requests)
    assert answer(question)[1][0][0] == "failure" and len(use_openai.requests) == before

    services.chat_question_retry(question=question, user=chat.user)
    use_openai.then(Reply(text="Better now."))
    result, _events = answer(question)
    assert result.message == "Better now."
    question.refresh_from_db()
    assert question.status == MessageStatus.ANSWERED and question.error == ""


def test_a_stream_cut_off_is_reset_and_answered_offline(use_openai, chat):
    use_openai.then(Reply(text="one two three four", break_after=2))
    result, events = answer(ask(chat, "What do I have tomorrow?"))
    kinds = [e for e, _d in events]
    assert kinds[:2] == ["token", "token"] and "reset" in kinds and kinds[-1] == "done"
    shown_after_reset = "".join(d["t"] for e, d in events[kinds.index("reset") :] if e == "token")
    assert shown_after_reset == result.message and "CS202 Algorithms" in result.message


def test_a_bad_key_falls_back_without_retrying(use_openai, chat):
    use_openai.then(Reply(status=401))
    result, _events = answer(ask(chat))
    assert result.status == MessageStatus.FALLBACK and len(use_openai.requests) == 1
    assert result.message.startswith("The assistant is not set up correctly")


def test_an_answered_question_is_replayed_not_asked_again(use_openai, chat):
    question = ask(chat)
    first, _events = answer(question)
    again, events = answer(question)
    assert again == first and len(use_openai.requests) == 1
    done = {"id": first.pk, "status": "ok", "html": "<p>Stub answer.</p>", "note": ""}
    assert events == [("token", {"t": first.message}), ("done", done)]
    assert ChatMessage.objects.filter(reply_to=question).count() == 1


def test_offline_provider_is_the_default_and_needs_no_network(chat, llm):
    result, events = answer(ask(chat, "What do I have tomorrow?"))
    assert result.provider == "offline" and result.status == MessageStatus.OK
    assert "Tomorrow" in result.message and "CS202 Algorithms" in result.message
    assert len([e for e, _d in events if e == "token"]) > 5  # streamed word by word
    assert llm.requests == []


def test_chat_title_comes_from_the_first_question(chat):
    ask(chat, "What   should I\nrevise for the Data Structures test on Friday, and in which order please?")
    chat.refresh_from_db()
    assert chat.title == "What should I revise for the Data Structures test on Friday…"


def test_empty_and_over_long_questions_are_refused(chat):
    with pytest.raises(ValidationError):
        ask(chat, "   ")
    with pytest.raises(ValidationError):
        ask(chat, "x" * (services.MAX_QUESTION_LENGTH + 1))
    assert not ChatMessage.objects.exists()


def test_rate_limit_per_person(settings, chat, world):
    settings.AI_RATE_LIMIT = 2
    ask(chat, "one")
    ask(chat, "two")
    with pytest.raises(ValidationError) as caught:
        ask(chat, "three")
    assert caught.value.code == "rate" and "still in the box" in caught.value.messages[0]
    assert ChatMessage.objects.filter(sender=Sender.USER).count() == 2
    # Someone else is not held back by Asha's limit.
    guardian_chat = services.chat_create(user=world["guardian"], student=world["student"])
    services.chat_message_send(chat=guardian_chat, user=world["guardian"], text="hello")


def test_rate_limit_window_passes(settings, chat, monkeypatch):
    settings.AI_RATE_LIMIT, settings.AI_RATE_WINDOW_SECONDS = 1, 60
    now = [1_000_000.0]
    monkeypatch.setattr(services.time, "time", lambda: now[0])
    ask(chat, "one")
    with pytest.raises(ValidationError):
        ask(chat, "two")
    now[0] += 60
    ask(chat, "two")


def test_daily_quota_counts_todays_questions_in_the_database(settings, chat):
    settings.AI_DAILY_QUOTA = 2
    first = ask(chat, "one")
    ask(chat, "two")
    with pytest.raises(ValidationError) as caught:
        ask(chat, "three")
    assert caught.value.code == "quota"
    # Yesterday's questions do not count.
    ChatMessage.objects.filter(pk=first.pk).update(created_at=timezone.now() - datetime.timedelta(days=1, hours=1))
    ask(chat, "three")


def test_quota_is_per_person_across_their_chats(settings, world):
    settings.AI_DAILY_QUOTA = 1
    user = world["student"].user
    services.chat_message_send(chat=services.chat_create(user=user, student=world["student"]), user=user, text="a")
    with pytest.raises(ValidationError):
        services.chat_message_send(chat=services.chat_create(user=user, student=world["student"]), user=user, text="b")


def test_only_the_chats_owner_may_ask_in_it(chat, world):
    with pytest.raises(PermissionDenied):
        services.chat_message_send(chat=chat, user=world["guardian"], text="hi")


def test_only_students_and_guardians_open_chats(world, admin_user):
    with pytest.raises(PermissionDenied):
        services.chat_create(user=admin_user, student=world["student"])
    assert not AIChat.objects.exists()


def test_guardian_role_constant():
    assert Role.GUARDIAN in services.selectors.ASSISTANT_ROLES


def test_a_question_being_answered_elsewhere_is_waited_for(chat, monkeypatch):
    question = ask(chat)
    cache.add(f"ai:answering:{question.pk}", 1, 60)  # another stream (a second tab) holds the question

    def other_stream_finishes(_seconds):
        services._answer_save(
            question, text="From the other stream.", context={}, provider=OfflineProvider(), status="ok"
        )

    monkeypatch.setattr(services.time, "sleep", other_stream_finishes)
    result, events = answer(question)
    assert result.message == "From the other stream."
    assert events == [("token", {"t": "From the other stream."}), ("done", services._done_data(result))]


def test_an_unexpected_error_keeps_the_question_as_failed(chat, monkeypatch):
    question = ask(chat)

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services.selectors, "student_context", broken)
    result, events = answer(question)
    assert result is None and events[-1] == ("failure", {"message": services.FRIENDLY_FAILED, "retry": True})
    question.refresh_from_db()
    assert question.status == MessageStatus.FAILED and question.message == "What should I study tonight?"


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("Which topics did I miss in Communication Skills?", "Which topics did I miss in Communication Skills?"),
        (
            "Which topics did I miss in Communication Skills and Discrete Mathematics this month?",
            "Which topics did I miss in Communication Skills and…",
        ),
        ("x" * 80, "x" * 59 + "…"),  # one long word: cut where it must be
    ],
)
def test_chat_title_is_cut_at_a_word(world, question, title):
    chat = services.chat_create(user=world["student"].user, student=world["student"])
    ask(chat, question)
    ask(chat, "A second question does not rename it")
    chat.refresh_from_db()
    assert chat.title == title
