"""A Redis cache that a Redis outage cannot turn into errors: reads miss, writes are dropped.

Django's RedisCache raises on every call while Redis is away, so any page that touches the cache fails.
`ResilientRedisCache` catches connection errors and timeouts instead:

- reads (`get`, `get_many`, `has_key`) answer a miss, writes (`set`, `add`, `delete`, ...) do nothing;
- `incr` raises `CacheUnavailable`, a ValueError, so the usual "key gone: set it to 1" fallback of a
  counter keeps working (the limit fails open), and a limit that must fail closed catches it first;
- after one failure Redis is not asked again for `RETRY_AFTER` seconds (default 5): a Redis that does
  not answer costs one short timeout per process per period, not one per call, and one log warning;
- a write dropped during the outage may have been an invalidation (a version bump, a deletion), so the
  process that dropped it deletes every key of this cache once Redis answers again: stale entries are
  never served after recovery. Counters start again from zero then (rate limits reset once).

OPTIONS other than RETRY_AFTER go to redis-py's connection pool (e.g. `socket_connect_timeout`).
"""

import logging
import re
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Only "cannot reach Redis": a wrong command or a bad value is a bug and still raises.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class CacheUnavailable(ValueError):
    """The cache could not be reached; a counter could not be read or counted."""


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", 5))
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._down_until = 0.0  # monotonic time before which Redis is not asked
        self._lost_writes = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------ outage bookkeeping

    def _skip(self) -> bool:
        return time.monotonic() < self._down_until

    def _failed(self, exc: Exception, *, write: bool) -> None:
        with self._lock:
            if write:
                self._lost_writes = True
            first = not self._skip()
            self._down_until = time.monotonic() + self.retry_after
        if first:
            logger.warning("cache: Redis unreachable (%s); serving without it for %ss", exc, self.retry_after)

    def _call(self, method, *args, default=None, write: bool = False):
        if self._skip():
            if write:
                self._lost_writes = True
            return default
        try:
            if self._lost_writes:
                self._forget_everything()
            return method(*args)
        except UNREACHABLE as exc:
            self._failed(exc, write=write)
            return default

    def _forget_everything(self) -> None:
        """Delete this cache's keys (only its prefix: the Celery broker may share the database)."""
        client = self._cache.get_client(None, write=True)
        # Django's keys are "<KEY_PREFIX>:<version>:<key>"; the prefix is matched literally.
        pattern = re.sub(r"([\\\[\]*?])", r"\\\1", self.key_prefix) + ":*"
        batch = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.unlink(*batch)
                batch = []
        if batch:
            client.unlink(*batch)
        self._lost_writes = False
        logger.warning("cache: Redis is back; dropped every cached entry, as writes were lost while it was away")

    # ------------------------------------------------------------ the cache API

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().add, key, value, timeout, version, default=False, write=True)

    def get(self, key, default=None, version=None):
        return self._call(super().get, key, default, version, default=default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._call(super().set, key, value, timeout, version, write=True)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().touch, key, timeout, version, default=False, write=True)

    def delete(self, key, version=None):
        return self._call(super().delete, key, version, default=False, write=True)

    def get_many(self, keys, version=None):
        return self._call(super().get_many, keys, version, default={})

    def has_key(self, key, version=None):
        return self._call(super().has_key, key, version, default=False)

    def incr(self, key, delta=1, version=None):
        missing = object()
        value = self._call(super().incr, key, delta, version, default=missing, write=True)
        if value is missing:
            raise CacheUnavailable("The cache is unavailable.")
        return value

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        self._call(super().set_many, data, timeout, version, write=True)
        return []

    def delete_many(self, keys, version=None):
        self._call(super().delete_many, keys, version, write=True)

    def clear(self):
        return self._call(super().clear, default=False, write=True)
