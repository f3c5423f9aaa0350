"""The live event stream under a real ASGI server (uvicorn), through Redis pub/sub and the database table.

Every stream test runs twice: `redis` (needs REDIS_URL, e.g. redis://127.0.0.1:6379/0; skipped without)
and `db` (REDIS_URL switched off, events polled from the LiveEvent table).
"""

import json
import os
import time
import uuid

import pytest
from django.urls import reverse

from announcements import services as announcement_services
from tests.asgi_server import AsgiServer, SseClient, session_cookie
from utils import live, live_slots
from utils.live_views import UNAVAILABLE
from utils.models import LiveEvent

pytestmark = pytest.mark.django_db(transaction=True)

TRANSPORTS = ["db", pytest.param("redis", marks=pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="no Redis"))]


@pytest.fixture(params=TRANSPORTS)
def transport(request, settings, monkeypatch):
    settings.REDIS_URL = os.environ["REDIS_URL"] if request.param == "redis" else ""
    # Channels of this run only: another test run may share the Redis server and the user ids.
    monkeypatch.setattr(live, "CHANNEL_PREFIX", f"campus-test-{uuid.uuid4().hex[:8]}:live:u:")
    return request.param


@pytest.fixture
def server(transactional_db):
    with AsgiServer() as server:
        yield server


@pytest.fixture
def open_stream(server):
    clients = []

    def open_(user) -> SseClient:
        client = SseClient(server, cookie=session_cookie(user))
        clients.append(client)
        assert client.status == 200
        client.wait_connected()
        return client

    yield open_
    for client in clients:
        client.close()


def events_within(client: SseClient, seconds: float) -> list[tuple[str, str]]:
    deadline = time.monotonic() + seconds
    seen = []
    while (left := deadline - time.monotonic()) > 0 and (event := client.read_event(left)) is not None:
        seen.append(event)
    return seen


def test_an_event_reaches_its_user_and_nobody_else(transport, open_stream, student_user, teacher_user):
    student = open_stream(student_user)
    teacher = open_stream(teacher_user)

    live.publish_now(user_ids=[teacher_user.pk], event="notification", data={"for": "teacher"})
    live.publish_now(user_ids=[student_user.pk], event="announcement", data={"for": "student"})

    # Published to the teacher first: had it leaked into the student's stream, it would come first.
    assert student.read_event(timeout=5) == ("announcement", json.dumps({"for": "student"}))
    assert teacher.read_event(timeout=5) == ("notification", json.dumps({"for": "teacher"}))
    assert events_within(student, 0.8) == []
    assert events_within(teacher, 0.1) == []


def test_the_stream_starts_from_now(transport, open_stream, student_user):
    live.publish_now(user_ids=[student_user.pk], event="announcement", data={"n": 1})
    student = open_stream(student_user)
    live.publish_now(user_ids=[student_user.pk], event="announcement", data={"n": 2})
    assert student.read_event(timeout=5) == ("announcement", json.dumps({"n": 2}))


def test_posting_an_announcement_tells_its_audience_live(transport, open_stream, admin_user, student_user, other_admin):
    student = open_stream(student_user)
    outsider = open_stream(other_admin)  # another institute: not in the audience

    announcement_services.announcement_create(author=admin_user, title="Sports day", body="Friday.", audience="all")

    names = set()
    deadline = time.monotonic() + 5
    while names != {"announcement", "notification"} and (event := student.read_event(deadline - time.monotonic())):
        names.add(event[0])
    assert names == {"announcement", "notification"}
    assert events_within(outsider, 0.8) == []


def test_heartbeat_and_bounded_stream(transport, server, settings, student_user):
    settings.LIVE_HEARTBEAT_SECONDS = 0.3
    settings.LIVE_STREAM_SECONDS = 1.2
    client = SseClient(server, cookie=session_cookie(student_user))
    try:
        assert client.status == 200
        assert client.headers["content-type"].startswith("text/event-stream")
        assert client.headers["cache-control"] == "no-cache"
        assert client.headers["x-accel-buffering"] == "no"
        blocks = []
        deadline = time.monotonic() + 5
        while (block := client._next(deadline)) is not None:
            blocks.append(block)
        assert time.monotonic() < deadline, "the stream did not end on time"
        assert blocks[0] == [f"retry: {live.RECONNECT_MS}", ": connected"]
        assert blocks.count([": ping"]) >= 2
    finally:
        client.close()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="no Redis")
@pytest.mark.parametrize("transport", ["redis"], indirect=True)
def test_a_closed_page_leaves_no_redis_subscription(transport, open_stream, student_user):
    import redis

    channel = live.channel_for(student_user.pk)
    client = redis.Redis.from_url(os.environ["REDIS_URL"])

    def subscribers() -> int:
        return dict(client.pubsub_numsub(channel))[channel.encode()]

    stream = open_stream(student_user)
    assert subscribers() == 1
    stream.close()
    deadline = time.monotonic() + 5
    while subscribers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert subscribers() == 0
    client.close()


@pytest.mark.parametrize("transport", ["db"], indirect=True)
def test_database_transport_refreshes_a_page_once_per_burst(transport, open_stream, student_user):
    student = open_stream(student_user)
    live.publish_now(user_ids=[student_user.pk], event="announcement")
    live.publish_now(user_ids=[student_user.pk], event="announcement")
    assert LiveEvent.objects.filter(user_id=student_user.pk).count() == 2
    assert events_within(student, 1.5) == [("announcement", "{}")]


def test_an_unreachable_redis_gives_a_retryable_error(server, settings, student_user):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    client = SseClient(server, cookie=session_cookie(student_user))
    assert client.status == 503
    client.close()


def test_anonymous_is_refused(server):
    client = SseClient(server)
    assert client.status == 403
    client.close()


def test_under_wsgi_the_stream_asks_to_come_back_later(client, student_user):
    """A WSGI server (gunicorn, the test client) cannot hold the stream open: no error, pages poll."""
    url = reverse("live:events")
    assert client.get(url).status_code == 403
    client.force_login(student_user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response.content.decode() == UNAVAILABLE
    assert client.post(url).status_code == 405


def wait_for_open_streams(count: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while live_slots.slots.open_streams() != count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert live_slots.slots.open_streams() == count


def test_streams_are_capped_per_user_and_per_process(
    transport, server, settings, student_user, teacher_user, other_admin
):
    settings.LIVE_MAX_STREAMS_PER_USER = 2
    settings.LIVE_MAX_STREAMS_PER_PROCESS = 3
    student_cookie = session_cookie(student_user)
    opened = []
    try:
        for _ in range(2):
            opened.append(SseClient(server, cookie=student_cookie))
            assert opened[-1].status == 200
            opened[-1].wait_connected()

        third = SseClient(server, cookie=student_cookie)  # one user's cap: this user is told to come back later
        assert third.status == 429
        assert third.headers["retry-after"] == "60"
        assert b"Too many pages with live updates" in third.body
        third.close()

        opened.append(SseClient(server, cookie=session_cookie(teacher_user)))  # someone else still gets one
        assert opened[-1].status == 200
        opened[-1].wait_connected()

        full = SseClient(server, cookie=session_cookie(other_admin))  # the process's cap: 3 streams open
        assert full.status == 503
        assert full.headers["retry-after"] == "60"
        full.close()
        assert live_slots.slots.open_streams() == 3
        assert live_slots.slots.open_streams(student_user.pk) == 2

        # A closed page gives its place back: the student may open another.
        opened.pop(0).close()
        wait_for_open_streams(2)
        opened.append(SseClient(server, cookie=student_cookie))
        assert opened[-1].status == 200
        opened[-1].wait_connected()
    finally:
        for client in opened:
            client.close()
    wait_for_open_streams(0)


def test_a_stream_that_cannot_subscribe_gives_its_place_back(server, settings, student_user):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.LIVE_MAX_STREAMS_PER_USER = 1
    cookie = session_cookie(student_user)
    for _ in range(2):
        client = SseClient(server, cookie=cookie)
        assert client.status == 503
        client.close()
    assert live_slots.slots.open_streams() == 0


def test_a_database_outage_while_signing_in_gives_a_retryable_error(server, settings, student_user, monkeypatch):
    from django.contrib import auth
    from django.db import OperationalError

    async def database_down(request):
        raise OperationalError("connection refused")

    monkeypatch.setattr(auth, "aget_user", database_down)
    client = SseClient(server, cookie=session_cookie(student_user))
    assert client.status == 503
    assert client.body == b"Live updates are unavailable."
    client.close()
    assert live_slots.slots.open_streams() == 0
