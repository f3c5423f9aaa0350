"""How many live event streams one app process serves: at most N per user and M in all.

Each open stream costs a socket, a Redis subscription (or a poll of the LiveEvent table) and an idle thread,
for minutes. Without a cap one person's script (or a hundred tabs) could use them all. Counts are kept in
the process: the sockets and memory being protected are the process's own (#19 asks for per process).

A refused stream is told so at once (429 for the user's cap, 503 for the process's): the browser's
EventSource gives up on a non-200 answer and htmx's SSE extension retries with a growing delay (0.5 s
doubling to 64 s), while the page's elements keep polling every 60 s. Refusing the newest stream rather
than closing the oldest avoids a merry-go-round: a closed stream reconnects and would push out the next.
"""

import threading
from collections import Counter

from django.conf import settings


class StreamRefused(Exception):
    """No slot for this stream; `status` and `message` are the answer to give the browser."""

    status = 503
    message = "Live updates are busy; this page refreshes itself every minute."


class TooManyForUser(StreamRefused):
    status = 429
    message = "Too many pages with live updates are open; this one refreshes itself every minute."


class TooManyForProcess(StreamRefused):
    pass


class Slot:
    """One open stream's place in the counts; `release` is safe to call twice."""

    def __init__(self, slots: "StreamSlots", user_id: int):
        self._slots = slots
        self.user_id = user_id
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._slots._release(self.user_id)


class StreamSlots:
    def __init__(self):
        # Streams run on the process's event loop, but a slot may be released from a finaliser in another
        # thread: the lock keeps the counts exact either way (it is held for microseconds).
        self._lock = threading.Lock()
        self._per_user: Counter[int] = Counter()
        self._total = 0

    def acquire(self, user_id: int) -> Slot:
        with self._lock:
            if self._per_user[user_id] >= settings.LIVE_MAX_STREAMS_PER_USER:
                raise TooManyForUser()
            if self._total >= settings.LIVE_MAX_STREAMS_PER_PROCESS:
                raise TooManyForProcess()
            self._per_user[user_id] += 1
            self._total += 1
        return Slot(self, user_id)

    def _release(self, user_id: int) -> None:
        with self._lock:
            self._total -= 1
            self._per_user[user_id] -= 1
            if self._per_user[user_id] <= 0:
                del self._per_user[user_id]

    def open_streams(self, user_id: int | None = None) -> int:
        with self._lock:
            return self._total if user_id is None else self._per_user.get(user_id, 0)


# The process's one set of counts (every stream of a process shares it).
slots = StreamSlots()
