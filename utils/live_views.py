"""The live event endpoint: signed-in pages keep one `text/event-stream` open (htmx's SSE extension)."""

from collections.abc import AsyncIterator

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, HttpResponseForbidden, StreamingHttpResponse
from django.views.decorators.http import require_GET

from utils import live

# Served by a WSGI server (gunicorn, Django's test client) the view cannot hold a stream open: it answers
# with a stream that ends at once and asks the browser to come back in a minute; pages keep polling.
UNAVAILABLE = "retry: 60000\n: live updates need the ASGI server; pages poll meanwhile\n\n"


def _no_buffering(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


@require_GET
async def events(request):
    """Stream the signed-in user's own live events (only theirs: one channel per user)."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponseForbidden("Sign in to receive live updates.", content_type="text/plain")
    if not isinstance(request, ASGIRequest):
        return _no_buffering(HttpResponse(UNAVAILABLE, content_type="text/event-stream"))
    stream = live.stream(user_id=user.pk)
    try:
        # Subscribe before answering: once the browser sees the stream open, no event is missed.
        first = await anext(stream)
    except StopAsyncIteration:  # Redis or the database is unreachable (logged): the browser retries
        return HttpResponse("Live updates are unavailable.", status=503, content_type="text/plain")
    return _no_buffering(StreamingHttpResponse(_prepend(first, stream), content_type="text/event-stream"))


async def _prepend(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    yield first
    async for chunk in rest:
        yield chunk
