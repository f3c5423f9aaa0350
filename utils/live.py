"""Live updates: publish a small event to users; the event endpoint streams it to their open pages.

With Redis (REDIS_URL), events go through Redis pub/sub, so any number of app processes can serve the
stream. Without it, events go through a database table that the endpoint polls, which also works
between the web process and the worker of the first-run setup. Events carry no private data: pages
react by re-fetching what changed through their usual access-checked views.
"""

import json

from django.conf import settings
from django.db import transaction

CHANNEL_PREFIX = "campus:live:u:"


def channel_for(user_id: int) -> str:
    return f"{CHANNEL_PREFIX}{user_id}"


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def publish_now(*, user_ids, event: str, data: dict | None = None) -> None:
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids:
        return
    payload = json.dumps({"event": event, "data": data or {}})
    if settings.REDIS_URL:
        client = _redis()
        with client.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.publish(channel_for(user_id), payload)
            pipe.execute()
    else:
        from utils.models import LiveEvent

        LiveEvent.objects.bulk_create(
            [LiveEvent(user_id=u, event=event, data=json.dumps(data or {})) for u in user_ids], batch_size=1000
        )


def publish(*, user_ids, event: str, data: dict | None = None) -> None:
    """Publish after the current transaction commits (never for a write that rolled back)."""
    user_ids = list(user_ids)
    transaction.on_commit(lambda: publish_now(user_ids=user_ids, event=event, data=data))
