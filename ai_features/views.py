"""The study assistant: chats (history, resumable), answers streamed as server-sent events, recommendations.

Only students (about themselves) and guardians (about a linked child) use it: every other role gets 403,
and a chat or recommendation that is not the viewer's is a 404. The answer stream (`answer_stream`) is an
async view: under the ASGI server each piece of the answer reaches the page as it is generated; under a
WSGI server Django collects the same events and sends them at the end, so the page still works.
"""

import asyncio
import contextlib
import json

from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from ai_features import selectors, services
from ai_features.forms import ChatNewForm, QuestionForm
from ai_features.models import Sender
from utils.params import to_id
from utils.permissions import role_required

ASSISTANT = (Role.STUDENT, Role.GUARDIAN)
HEARTBEAT_SECONDS = 15
SUGGESTIONS = (
    "What do I have tomorrow?",
    "How is my attendance?",
    "Which topics did I miss?",
    "What should I study next?",
)


def _suggestions(user) -> tuple[str, ...]:
    if user.role == Role.GUARDIAN:
        return (
            "What lessons are there tomorrow?",
            "How is the attendance?",
            "Which topics were missed?",
            "What should they study next?",
        )
    return SUGGESTIONS


@role_required(*ASSISTANT)
@require_GET
def index(request):
    students = selectors.students_for_user(user=request.user)
    context = {
        "chats": selectors.chat_list_for_user(user=request.user),
        "students": students,
        "new_form": ChatNewForm(students=students),
        "recommendations": selectors.recommendations_for_students(students=students, active_only=True, limit=5),
    }
    return render(request, "ai_features/index.html", context)


@role_required(*ASSISTANT)
@require_POST
def chat_new(request):
    # A student the person may not ask about is a 404, whatever the form says.
    student = selectors.student_get_for_user(user=request.user, student_id=to_id(request.POST.get("student")))
    chat = services.chat_create(user=request.user, student=student)
    return redirect("ai_features:chat", session_id=chat.session_id)


def _chat_context(request, chat, form=None) -> dict:
    messages = selectors.chat_messages(chat=chat)
    answered = {m.reply_to_id: m for m in messages if m.sender == Sender.AI}
    turns = [{"question": m, "answer": answered.get(m.pk)} for m in messages if m.sender == Sender.USER]
    return {
        "chat": chat,
        "turns": turns,
        "form": form or QuestionForm(),
        "suggestions": _suggestions(request.user),
        "chats": selectors.chat_list_for_user(user=request.user, limit=20),
    }


@role_required(*ASSISTANT)
@require_GET
def chat_detail(request, session_id):
    chat = selectors.chat_get_for_user(user=request.user, session_id=session_id)
    return render(request, "ai_features/chat.html", _chat_context(request, chat))


@role_required(*ASSISTANT)
@require_POST
def chat_send(request, session_id):
    chat = selectors.chat_get_for_user(user=request.user, session_id=session_id)
    form = QuestionForm(request.POST)
    question, untitled = None, not chat.title
    if form.is_valid():
        try:
            question = services.chat_message_send(chat=chat, user=request.user, text=form.cleaned_data["message"])
        except ValidationError as exc:
            form.add_error("message", exc)
    if not request.htmx:
        if question is not None:
            return redirect("ai_features:chat", session_id=chat.session_id)
        return render(request, "ai_features/chat.html", _chat_context(request, chat, form=form))
    # htmx: the new turn is appended to the log; the form is swapped out of band (emptied, or with the error
    # and the text kept, 200 so htmx swaps it).
    # A suggestion button leaves what the person is typing in the box alone, unless there is an error to show.
    context = {
        "chat": chat,
        "turn": {"question": question, "answer": None} if question else None,
        "form": QuestionForm() if question else form,
        "replace_form": question is None or not request.POST.get("suggestion"),
        "new_title": question is not None and untitled,  # the first question names the chat: show it
    }
    return render(request, "ai_features/_sent.html", context)


@role_required(*ASSISTANT)
@require_POST
def retry(request, session_id, message_id):
    question = selectors.question_get_for_user(user=request.user, session_id=session_id, message_id=message_id)
    error = ""
    try:
        question = services.chat_question_retry(question=question, user=request.user)
    except ValidationError as exc:
        error = exc.messages[0]
    if not request.htmx:
        return redirect("ai_features:chat", session_id=session_id)
    return render(
        request, "ai_features/_answer.html", {"chat": question.chat, "q": question, "a": None, "retry_error": error}
    )


# ---------------------------------------------------------------- the answer stream


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def _answer_events(question_id: int):
    """Run the (sync) answering service in the request's worker thread; pass its events on as they come."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def emit(event: str, data: dict) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (event, data))

    task = asyncio.ensure_future(sync_to_async(services.chat_answer)(question_id=question_id, emit=emit))
    task.add_done_callback(lambda _t: queue.put_nowait((None, None)))
    yield "retry: 60000\n\n"  # a dropped stream is not re-opened at once: the answer is saved either way
    finished = False
    try:
        while True:
            try:
                event, data = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": waiting\n\n"
                continue
            if event is None:
                break
            finished = finished or event in ("done", "failure")
            yield _sse(event, data)
        if not finished:  # the service raised before it could say anything
            yield _sse("failure", {"message": services.FRIENDLY_FAILED, "retry": True})
    finally:
        # The page went away: the answer goes on in its thread and is saved; nothing more to send.
        if not task.done():
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        elif not task.cancelled():
            with contextlib.suppress(Exception):
                task.result()


@require_GET
async def answer_stream(request, session_id, message_id):
    """`text/event-stream` of one answer: `token` pieces, then `done` (or `reset`, `failure`)."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("Sign in to use the study assistant.", status=403, content_type="text/plain")
    if user.role not in ASSISTANT or user.institute_id is None:
        raise PermissionDenied
    question = await sync_to_async(selectors.question_get_for_user)(
        user=user, session_id=session_id, message_id=message_id
    )
    response = StreamingHttpResponse(_answer_events(question.pk), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each piece on at once
    return response


# ---------------------------------------------------------------- recommendations


@role_required(*ASSISTANT)
@require_GET
def recommendations(request):
    students = selectors.students_for_user(user=request.user)
    items = selectors.recommendations_for_students(students=students, limit=100)
    context = {
        "open": [r for r in items if r.status == "active"],
        "closed": [r for r in items if r.status != "active"],
        "many_students": len(students) > 1,
    }
    return render(request, "ai_features/recommendations.html", context)


@role_required(Role.STUDENT)
@require_POST
def recommendation_act(request, recommendation_id, action):
    recommendation = selectors.recommendation_get_for_student(user=request.user, recommendation_id=recommendation_id)
    act = {"complete": services.recommendation_complete, "dismiss": services.recommendation_dismiss}.get(action)
    if act is None:
        return HttpResponse("Unknown action", status=400, content_type="text/plain")
    error = ""
    try:
        recommendation = act(recommendation=recommendation, actor=request.user)
    except ValidationError as exc:
        error = exc.messages[0]
    if request.htmx:
        return render(request, "ai_features/recommendations.html#recommendation", {"r": recommendation, "error": error})
    return redirect("ai_features:recommendations")


@role_required(*ASSISTANT)
@require_http_methods(["GET"])
def card(request):
    """The dashboard card (loaded by htmx): open recommendations and a way into the assistant."""
    students = selectors.students_for_user(user=request.user)
    context = {
        "recommendations": selectors.recommendations_for_students(students=students, active_only=True, limit=3),
        "chats": selectors.chat_list_for_user(user=request.user, limit=3),
    }
    return render(request, "ai_features/_card.html", context)
