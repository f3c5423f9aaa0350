"""Live updates: publish a small event to users; the event endpoint streams it to their open pages.

With Redis (REDIS_URL), events go through Redis pub/sub, so any number of app processes can serve the
stream. Without it, events go through a database table that the endpoint polls, which also works
between the web process and the worker of the first-run setup. Events carry no private data: pages
react by re-fetching what changed through their usual access-checked views.

The subscribe side is `stream(user_id=)`, an async generator of `text/event-stream` text that the event
endpoint (utils/live_views.py) serves: it listens to that one user's channel only, so an event reaches
only the people it was published to.
"""

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, OperationalError, connections, transaction
from redis.exceptions import RedisError

from utils.live_slots import Slot

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "campus:live:u:"


def channel_for(user_id: int) -> str:
    return f"{CHANNEL_PREFIX}{user_id}"


# A Redis that does not answer must not hold a request (publish) or a stream opening for long.
CONNECT_TIMEOUT = 0.5
PUBLISH_TIMEOUT = 1.0
# A stream's subscription holds no request thread while it connects (it waits in the event loop), and a Redis
# that is down refuses at once: it may wait longer, so that hundreds of pages opening together (a deploy, a
# school's morning) are not refused because Redis answers their connects a little slowly.
SUBSCRIBE_CONNECT_TIMEOUT = 5.0


def _redis():
    import redis

    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=PUBLISH_TIMEOUT
    )


def publish_now(*, user_ids, event: str, data: dict | None = None) -> None:
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids:
        return
    payload = json.dumps({"event": event, "data": data or {}})
    if settings.REDIS_URL:
        client = _redis()
        try:
            with client.pipeline(transaction=False) as pipe:
                for user_id in user_ids:
                    pipe.publish(channel_for(user_id), payload)
                pipe.execute()
        except (RedisError, OSError) as exc:
            # The write this announces is saved: pages still show it at their next poll (every 60 s).
            logger.warning("live: %s for %d user(s) not published, Redis unreachable: %s", event, len(user_ids), exc)
        finally:
            client.close()
    else:
        from utils.models import LiveEvent

        LiveEvent.objects.bulk_create(
            [LiveEvent(user_id=u, event=event, data=json.dumps(data or {})) for u in user_ids], batch_size=1000
        )


def publish(*, user_ids, event: str, data: dict | None = None) -> None:
    """Publish after the current transaction commits (never for a write that rolled back)."""
    user_ids = list(user_ids)
    transaction.on_commit(lambda: publish_now(user_ids=user_ids, event=event, data=data))


# ---------------------------------------------------------------- the subscribe side

RECONNECT_MS = 3000  # how long a browser waits before reconnecting after the stream ends
_EVENT_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,40}")


def sse_message(event: str, data: str) -> str:
    """One server-sent event; `data` is JSON text (json.dumps never writes a raw newline)."""
    return f"event: {event}\ndata: {data}\n\n"


class _RedisSubscription:
    """The user's own Redis channel, so any app process can serve the stream."""

    def __init__(self, user_id: int):
        self.channel = channel_for(user_id)
        self.client = None
        self.pubsub = None

    async def open(self) -> None:
        import redis.asyncio

        self.client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=SUBSCRIBE_CONNECT_TIMEOUT
        )
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        await self.pubsub.subscribe(self.channel)

    async def get(self, timeout: float) -> list[tuple[str, str]]:
        message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=max(timeout, 0.01))
        if message is None or message.get("type") != "message":
            return []
        try:
            payload = json.loads(message["data"])
            return [(str(payload["event"]), json.dumps(payload.get("data") or {}))]
        except (ValueError, KeyError, TypeError):
            logger.warning("live: dropped a malformed message on %s", self.channel)
            return []

    async def close(self) -> None:
        # Runs on disconnect too (the task is being cancelled): never let cleanup raise over that.
        try:
            if self.pubsub is not None:
                await self.pubsub.aclose()
            if self.client is not None:
                await self.client.aclose()
        except Exception:  # the connection is going away either way
            logger.debug("live: closing the Redis subscription failed", exc_info=True)


def close_db_connections() -> None:
    """Close this thread's database connections (a stream must not keep one while it waits).

    Call it in the thread that opened them: Django's connections are per thread.
    """
    for connection in connections.all(initialized_only=True):
        connection.close()


def _latest_event_id() -> int:
    from utils.models import LiveEvent

    try:
        return LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    finally:
        close_db_connections()


def _events_after(user_id: int, last_id: int) -> list[tuple[int, str, str]]:
    from utils.models import LiveEvent

    try:
        rows = LiveEvent.objects.filter(user_id=user_id, id__gt=last_id).order_by("id")
        return list(rows.values_list("id", "event", "data")[:200])
    finally:
        close_db_connections()


class _DatabaseSubscription:
    """The LiveEvent table, polled for this user's rows newer than the stream's start.

    Each read runs in a worker thread that closes its connection before returning, so a waiting stream
    holds no database connection between polls (hundreds of open pages must not use up PostgreSQL's).
    """

    def __init__(self, user_id: int):
        self.user_id = user_id
        self.last_id = 0

    async def open(self) -> None:
        # Start from now: nothing published before the page connected is replayed. A database busy with
        # a writer (SQLite) gets a few short retries before the stream gives up.
        for attempt in range(5):
            try:
                self.last_id = await sync_to_async(_latest_event_id, thread_sensitive=False)()
                return
            except OperationalError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2)

    async def get(self, timeout: float) -> list[tuple[str, str]]:
        await asyncio.sleep(max(min(settings.LIVE_POLL_SECONDS, timeout), 0))
        events = []
        try:
            rows = await sync_to_async(_events_after, thread_sensitive=False)(self.user_id, self.last_id)
        except OperationalError as exc:
            # SQLite busy or locked by a writer for a moment: keep the stream, read again at the next poll.
            logger.info("live: polling for user %s deferred: %s", self.user_id, exc)
            return events
        for row_id, event, data in rows:
            self.last_id = row_id
            if (event, data or "{}") not in events:  # a burst of the same event refreshes a page once
                events.append((event, data or "{}"))
        return events

    async def close(self) -> None:
        pass


async def stream(*, user_id: int, slot: Slot | None = None) -> AsyncIterator[str]:
    """The event stream for one signed-in user, for a bounded time (the browser then reconnects).

    The first chunk (the reconnect delay and a `: connected` comment) comes once the subscription is
    open: events published from then on are delivered. Then `event:`/`data:` messages, and a `: ping`
    comment every heartbeat. Yields nothing at all if Redis or the database cannot be reached.
    `slot` (utils/live_slots.py), if given, is released when the stream ends, however it ends.
    """
    subscription = None
    try:
        subscription = _RedisSubscription(user_id) if settings.REDIS_URL else _DatabaseSubscription(user_id)
        loop = asyncio.get_running_loop()
        await subscription.open()
        yield f"retry: {RECONNECT_MS}\n: connected\n\n"
        deadline = loop.time() + settings.LIVE_STREAM_SECONDS
        next_ping = loop.time() + settings.LIVE_HEARTBEAT_SECONDS
        while (now := loop.time()) < deadline:
            if now >= next_ping:
                yield ": ping\n\n"
                next_ping = now + settings.LIVE_HEARTBEAT_SECONDS
            for event, data in await subscription.get(timeout=min(next_ping, deadline) - now):
                if _EVENT_NAME.fullmatch(event):
                    yield sse_message(event, data)
    except (OSError, RedisError, DatabaseError) as exc:
        # Redis or the database went away: end this stream; the browser reconnects, pages still poll.
        logger.warning("live: the event stream for user %s stopped: %s", user_id, exc)
    finally:
        if slot is not None:
            slot.release()
        if subscription is not None:
            await subscription.close()
