"""Open live streams hold no database connection (#19): 500 at once leave PostgreSQL's count unchanged.

Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): it counts connections in `pg_stat_activity`, which
SQLite has no equivalent of, and 500 streams polling a SQLite file would measure SQLite, not the leak.
The streams are opened by an asyncio client (httpx) in a thread of its own, against uvicorn in another.
"""

import asyncio
import os
import threading
import time
import uuid

import httpx
import pytest
from django.db import connection

from accounts.models import Role, User
from tests.asgi_server import AsgiServer, session_cookie
from utils import live, live_slots

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"),
        reason="counts PostgreSQL connections (pg_stat_activity) with streams on Redis: needs DATABASE_URL "
        "(postgres) and REDIS_URL",
    ),
]


def database_connections(*, idle_only: bool = False, but_mine: bool = False) -> int:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    if idle_only:  # open but doing nothing: what a waiting stream would keep (our own is busy asking)
        sql += " AND state = 'idle'"
    if idle_only or but_mine:
        sql += " AND pid <> pg_backend_pid()"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


class PeakConnections:
    """The most connections seen, sampled every 10 ms from a thread (its own connection not counted)."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.peak = max(self.peak, database_connections(but_mine=True))
                time.sleep(0.01)
        finally:
            connection.close()  # this thread's own

    def __enter__(self) -> "PeakConnections":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Streams:
    """`count` event streams, one per cookie in turn, held open by an asyncio loop in a thread."""

    def __init__(self, url: str, cookies: list[str], count: int):
        self.url = url
        self.cookies = cookies
        self.count = count
        self.statuses: list[int] = []
        self.connected = 0
        self.all_answered = threading.Event()
        self.errors: list[BaseException] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="sse-clients", daemon=True)

    def __enter__(self) -> "Streams":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)
        self._thread.join(timeout=20)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by the test, which asserts on `errors`
            self.errors.append(exc)
            self.all_answered.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        limits = httpx.Limits(max_connections=self.count + 10, max_keepalive_connections=0)
        timeout = httpx.Timeout(30.0)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            tasks = [asyncio.create_task(self._one(client, i)) for i in range(self.count)]
            await asyncio.gather(*tasks)

    async def _one(self, client: httpx.AsyncClient, index: int) -> None:
        headers = {"Accept": "text/event-stream", "Cookie": self.cookies[index % len(self.cookies)]}
        try:
            async with client.stream("GET", self.url, headers=headers) as response:
                # Kept in a name while the stream is held: a dropped iterator is finalised, and httpx then
                # hangs up the connection.
                chunks = response.aiter_text()
                if response.status_code == 200:
                    async for text in chunks:
                        if ": connected" in text:
                            self.connected += 1
                            break
                self._answered(response.status_code)
                await self._release.wait()
        except Exception as exc:
            self.errors.append(exc)
            self._answered(-1)

    def _answered(self, status: int) -> None:
        self.statuses.append(status)
        if len(self.statuses) == self.count:
            self.all_answered.set()


@pytest.fixture
def redis_transport(settings, monkeypatch):
    settings.REDIS_URL = os.environ["REDIS_URL"]
    monkeypatch.setattr(live, "CHANNEL_PREFIX", f"campus-test-{uuid.uuid4().hex[:8]}:live:u:")


def make_users(count: int) -> list[User]:
    return [
        User.objects.create(username=f"live{i}", email=f"live{i}@example.test", role=Role.STUDENT) for i in range(count)
    ]


STREAMS = 500


def test_500_open_streams_hold_no_database_connection_and_pages_still_answer(redis_transport, settings):
    settings.LIVE_STREAM_SECONDS = 60  # longer than the test: every stream stays open while we count
    settings.LIVE_MAX_STREAMS_PER_USER = 5
    settings.LIVE_MAX_STREAMS_PER_PROCESS = 1000
    users = make_users(STREAMS // settings.LIVE_MAX_STREAMS_PER_USER)
    cookies = [session_cookie(user) for user in users]

    with AsgiServer() as server:
        before = database_connections()
        started = time.monotonic()
        with Streams(f"{server.url}/live/events/", cookies, STREAMS) as streams:
            with PeakConnections() as opening:
                assert streams.all_answered.wait(timeout=60), f"only {len(streams.statuses)} streams answered"
            # 500 pages connecting at once read their sessions a few at a time, not 500 connections at once.
            assert opening.peak - before <= settings.LIVE_MAX_CONCURRENT_SIGN_INS + 2, (before, opening.peak)
            assert not streams.errors, streams.errors[:3]
            assert streams.statuses == [200] * STREAMS
            assert streams.connected == STREAMS
            assert live_slots.slots.open_streams() == STREAMS
            opened_in = time.monotonic() - started

            during = []
            with httpx.Client(base_url=server.url, timeout=10) as page_client:
                for _ in range(5):  # about 5 s with every stream open
                    during.append(database_connections())
                    assert page_client.get("/login/").status_code == 200
                    time.sleep(1)
        print(
            f"{STREAMS} streams open in {opened_in:.1f}s; database connections {before} before, "
            f"{opening.peak} at most while they opened, {during} while open"
        )
        assert all(abs(count - before) <= 2 for count in during), (before, during)

    deadline = time.monotonic() + 10
    while live_slots.slots.open_streams() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_slots.slots.open_streams() == 0, "a closed stream kept its slot"


def test_streams_on_the_database_transport_hold_no_connection_between_polls(settings):
    settings.REDIS_URL = ""
    settings.LIVE_STREAM_SECONDS = 60
    settings.LIVE_POLL_SECONDS = 0.5
    count = 100
    users = make_users(count // settings.LIVE_MAX_STREAMS_PER_USER)
    cookies = [session_cookie(user) for user in users]

    with AsgiServer() as server:
        before, idle_before = database_connections(), database_connections(idle_only=True)
        with Streams(f"{server.url}/live/events/", cookies, count) as streams:
            assert streams.all_answered.wait(timeout=60), f"only {len(streams.statuses)} streams answered"
            assert streams.statuses == [200] * count, streams.errors[:3]
            during, idle = [], []
            for _ in range(6):
                during.append(database_connections())
                idle.append(database_connections(idle_only=True))
                time.sleep(0.5)
    print(f"{count} streams on the table: connections {before} before, {during} during; idle {idle_before}, {idle}")
    # 200 polls a second each open a connection for a moment, in the loop's worker threads: never more than
    # those threads at once, whatever the number of streams. A sample may catch a few between a poll's query
    # and its close ("idle" for a moment), never one held per stream (that was 100 here).
    workers = min(32, (os.cpu_count() or 1) + 4)  # asyncio's default executor
    assert max(during) - before <= workers, (before, during)
    assert max(idle) - idle_before <= workers, (idle_before, idle)
