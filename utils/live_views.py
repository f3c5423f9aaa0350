"""The live event endpoint: signed-in pages keep one `text/event-stream` open (htmx's SSE extension).

An open stream holds no database connection (#19): the view reads who is signed in, then closes the
connection in the thread that opened it, before streaming. Through Redis the stream then never touches the
database; through the LiveEvent table each poll opens and closes its own (utils/live.py). Streams are
capped per user and per process (utils/live_slots.py).
"""

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseForbidden, StreamingHttpResponse
from django.views.decorators.http import require_GET

from utils import live, live_slots

logger = logging.getLogger(__name__)

# Served by a WSGI server (gunicorn, Django's test client) the view cannot hold a stream open: it answers
# with a stream that ends at once and asks the browser to come back in a minute; pages keep polling.
UNAVAILABLE = "retry: 60000\n: live updates need the ASGI server; pages poll meanwhile\n\n"
REFUSED_RETRY_AFTER_SECONDS = 60

# One semaphore per event loop (an asyncio primitive belongs to one loop; tests start several servers).
_sign_in_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()


def _sign_in_gate() -> asyncio.Semaphore:
    # Every page reconnects at once after a deploy: without a gate, hundreds of streams would each open a
    # database connection at the same moment to read their session (PostgreSQL allows 100 by default).
    loop = asyncio.get_running_loop()
    gate = _sign_in_gates.get(loop)
    if gate is None:
        gate = _sign_in_gates[loop] = asyncio.Semaphore(settings.LIVE_MAX_CONCURRENT_SIGN_INS)
    return gate


def _no_buffering(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


async def _signed_in_user_id(request) -> int | None:
    """Who is signed in, read with the database connection closed again afterwards."""
    async with _sign_in_gate():
        try:
            user = await request.auser()
            return user.pk if user.is_authenticated else None
        finally:
            # Same thread as the reads (thread-sensitive: the request's one sync thread under ASGI), since
            # Django's connections are per thread: closing from any other thread would leave this one open
            # until the stream ends.
            await sync_to_async(live.close_db_connections, thread_sensitive=True)()


@require_GET
async def events(request):
    """Stream the signed-in user's own live events (only theirs: one channel per user)."""
    if not isinstance(request, ASGIRequest):
        # WSGI closes the connection itself at the end of the request (and in tests it is the test's own).
        user = await request.auser()
        if not user.is_authenticated:
            return HttpResponseForbidden("Sign in to receive live updates.", content_type="text/plain")
        return _no_buffering(HttpResponse(UNAVAILABLE, content_type="text/event-stream"))
    try:
        user_id = await _signed_in_user_id(request)
    except DatabaseError:  # the database is down for a moment (logged): the browser retries, pages poll
        logger.warning("live: could not read who is signed in", exc_info=True)
        return HttpResponse("Live updates are unavailable.", status=503, content_type="text/plain")
    if user_id is None:
        return HttpResponseForbidden("Sign in to receive live updates.", content_type="text/plain")
    try:
        slot = live_slots.slots.acquire(user_id)
    except live_slots.StreamRefused as refusal:
        response = HttpResponse(refusal.message, status=refusal.status, content_type="text/plain")
        response["Retry-After"] = str(REFUSED_RETRY_AFTER_SECONDS)
        return response
    # From here the stream owns the slot: its `finally` gives it back however the stream ends.
    stream = live.stream(user_id=user_id, slot=slot)
    try:
        # Subscribe before answering: once the browser sees the stream open, no event is missed.
        first = await anext(stream)
    except StopAsyncIteration:  # Redis or the database is unreachable (logged): the browser retries
        return HttpResponse("Live updates are unavailable.", status=503, content_type="text/plain")
    return _no_buffering(StreamingHttpResponse(_prepend(first, stream), content_type="text/event-stream"))


async def _prepend(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    try:
        yield first
        async for chunk in rest:
            yield chunk
    finally:
        # Django closes this wrapper when the client goes away; pass that on at once, so the stream's
        # subscription and slot are released now rather than whenever the garbage collector runs.
        await rest.aclose()
