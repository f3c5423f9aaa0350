"""A real Redis stopped and started again under a signed-in school: pages answer, writes are saved, limits hold.

Each test starts its own redis-server on a free port and points the cache and the live events at it, so
nothing here is mocked: the failure is the one a stopped server gives. Runs on SQLite and PostgreSQL.
"""

import datetime
import shutil
import subprocess
import time

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import OneTimeCode
from accounts.tests.factories import DEFAULT_PASSWORD, StudentFactory
from announcements.tests.test_announcements import post
from attendance.models import AttendanceRecord
from attendance.tests.test_views import form_data, register_url
from enrollment.models import Enrollment
from tests.servers import RedisServer
from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory
from utils.cache import CacheUnavailable

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


@pytest.fixture
def klass(institute, section, term, subject, teacher_user, student, guardian_link):
    """A lesson today for the teacher, with two enrolled students (the shape attendance's tests use)."""
    students = [student, StudentFactory(section=section, term=term, user__full_name="Pupil One")]
    for s in students:
        Enrollment.objects.create(institute=institute, student=s, subject=subject, term=term)
    slot = TimeSlotFactory(institute=institute, order=1, starts_at=datetime.time(9), ends_at=datetime.time(9, 50))
    entry = TimetableEntryFactory(
        term=term,
        section=section,
        subject=subject,
        teacher=teacher_user.teacher_profile,
        room=RoomFactory(institute=institute, name="B-204"),
        slot=slot,
        day=timezone.localdate().weekday(),
    )
    return {
        "entry": entry,
        "date": timezone.localdate(),
        "students": students,
        "teacher": teacher_user,
        "guardian": guardian_link.guardian.user,
        "section": section,
    }


@pytest.fixture
def redis_server(settings):
    server = RedisServer()
    server.start()
    settings.REDIS_URL = server.url  # live events
    settings.CACHES = {
        "default": {
            "BACKEND": "utils.cache.ResilientRedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "campus-outage",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0, "RETRY_AFTER": 0.3},
        }
    }
    yield server
    if server.process is not None:
        server.stop()


def wait_past_retry_window():
    time.sleep(0.35)  # RETRY_AFTER above: the cache asks Redis again


def pages(klass):
    return [
        reverse("accounts:home"),
        reverse("accounts:dashboard_teacher"),
        reverse("timetable:mine"),
        reverse("announcements:feed"),
        reverse("attendance:today"),
        register_url(klass),
    ]


def sign_in(client, user):
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content[:300]
    assert client.get(reverse("accounts:home")).status_code == 302  # to the dashboard: signed in


def test_pages_sign_in_and_saves_go_on_while_redis_is_down_and_the_cache_returns_with_it(
    client, redis_server, klass, caplog, django_capture_on_commit_callbacks
):
    post(klass["teacher"], title="Sports day", audience="section", target_section=klass["section"])
    teacher = klass["teacher"]
    sign_in(client, teacher)
    for url in pages(klass):
        assert client.get(url, follow=True).status_code == 200, url
    cache.set("probe", "before", 60)
    assert cache.get("probe") == "before"

    redis_server.stop()

    started = time.monotonic()
    for url in pages(klass):
        assert client.get(url, follow=True).status_code == 200, url
    down_pages = time.monotonic() - started
    assert down_pages < 3  # a stopped Redis costs a refused connection, not a timeout per call
    assert "Redis unreachable" in caplog.text

    client.post(reverse("accounts:logout"))
    sign_in(client, teacher)  # the session is in the database
    with django_capture_on_commit_callbacks(execute=True) as callbacks:  # the live publish runs after commit
        response = client.post(register_url(klass), form_data(klass, s1="absent"))
    assert callbacks and response.status_code == 302  # saved; the live event could not be published, which is logged
    assert AttendanceRecord.objects.filter(student=klass["students"][1], status="absent").exists()
    assert "not published, Redis unreachable" in caplog.text
    assert client.get(response["Location"]).status_code == 200
    assert cache.get("probe", "missing") == "missing"
    with pytest.raises(CacheUnavailable):
        cache.incr("probe")

    redis_server.start()  # the same port, empty (as after a restart without persistence)
    wait_past_retry_window()
    for url in pages(klass):
        assert client.get(url, follow=True).status_code == 200, url
    cache.set("probe", "after", 60)
    assert cache.get("probe") == "after"  # the cache is used again
    assert cache.add("probe-count", 0) and cache.incr("probe-count") == 1


def test_codes_per_address_stay_capped_while_redis_is_down(client, redis_server, klass, settings):
    settings.ONE_TIME_CODE_MAX_PER_IP_PER_HOUR = 1
    url = reverse("accounts:password_reset")
    ip = "198.51.100.20"
    redis_server.stop()

    response = client.post(url, {"email": klass["teacher"].email}, REMOTE_ADDR=ip)
    assert response.status_code == 302  # the first code of the hour is sent
    assert OneTimeCode.objects.filter(requested_ip=ip).count() == 1

    response = client.post(url, {"email": klass["guardian"].email}, REMOTE_ADDR=ip)
    assert response.status_code == 200
    assert "Too many codes were requested from your network" in response.content.decode()
    assert OneTimeCode.objects.filter(requested_ip=ip).count() == 1  # nothing sent past the limit

    response = client.post(url, {"email": klass["guardian"].email}, REMOTE_ADDR="198.51.100.21")
    assert response.status_code == 302  # another network is not held back
    assert OneTimeCode.objects.filter(requested_ip="198.51.100.21").count() == 1


def test_an_invalidation_lost_while_redis_was_down_serves_no_stale_entry_after_it_returns(redis_server):
    """A version bump dropped during the outage must not leave the old cached grid/feed readable afterwards."""
    from announcements.selectors import _version_key, bump_feed_version

    cache.set("ann-feed:1:0:everyone", ["old item"], 600)
    # A Redis that keeps its data across the outage: the server is paused (SIGSTOP), not stopped.
    redis_server.process.send_signal(19)  # SIGSTOP: connections time out
    try:
        bump_feed_version(institute_id=1)  # dropped (a timeout), after socket_timeout
    finally:
        redis_server.process.send_signal(18)  # SIGCONT: the same data is back
    wait_past_retry_window()
    assert cache.get(_version_key(1), 0) == 0  # the bump was lost...
    assert cache.get("ann-feed:1:0:everyone") is None  # ...so the entries it would have hidden were dropped
    cache.set("fresh", 1, 60)
    assert cache.get("fresh") == 1  # and only once: what is written after recovery stays


def test_the_500_page_renders_when_the_session_store_itself_fails(rf, redis_server, settings):
    """Whatever broke the page (here a session kept in a stopped Redis) must not break the error page too."""
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    from utils.views import server_error

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_server.url}
    }
    redis_server.stop()
    from django.contrib.sessions.backends.db import SessionStore

    stored = SessionStore()  # a session in the database, which cached_db then fails to copy into Redis
    stored["_auth_user_id"] = "1"
    stored.create()
    request = rf.get("/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = stored.session_key
    SessionMiddleware(lambda r: None).process_request(request)
    AuthenticationMiddleware(lambda r: None).process_request(request)

    response = server_error(request)
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_with_redis_named_sessions_stay_in_the_database_and_the_cache_survives_an_outage():
    """The settings a deployment with REDIS_URL gets (read in a fresh process, as the server would)."""
    import json
    import os
    import sys

    probe = (
        "import json, config.settings.base as s; c = s.CACHES['default'];"
        "print(json.dumps([s.SESSION_ENGINE, c['BACKEND'], c['OPTIONS']]))"
    )
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:6379/9"}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    engine, backend, options = json.loads(result.stdout.strip().splitlines()[-1])
    # cached_db would read the session from a Redis that missed a sign-out while it was away.
    assert engine == "django.contrib.sessions.backends.db"
    assert backend == "utils.cache.ResilientRedisCache"
    assert 0 < options["socket_connect_timeout"] <= 1 and 0 < options["socket_timeout"] <= 2


@pytest.mark.django_db(transaction=True)
def test_the_live_stream_ends_while_redis_is_down_and_reconnects_when_it_returns(redis_server, student_user):
    from tests.asgi_server import AsgiServer, SseClient, session_cookie
    from utils import live

    with AsgiServer() as server:
        cookie = session_cookie(student_user)
        stream = SseClient(server, cookie=cookie)
        assert stream.status == 200
        stream.wait_connected()

        redis_server.stop()
        stream.reader.join(timeout=10)
        assert not stream.reader.is_alive()  # the open stream ended: the browser reconnects on its own
        stream.close()
        refused = SseClient(server, cookie=cookie)
        assert refused.status == 503  # and is told to retry (htmx backs off); the page polls meanwhile
        refused.close()
        live.publish_now(user_ids=[student_user.pk], event="announcement")  # logged, not raised

        redis_server.start()
        stream = SseClient(server, cookie=cookie)
        try:
            assert stream.status == 200
            stream.wait_connected()
            live.publish_now(user_ids=[student_user.pk], event="announcement", data={"n": 1})
            assert stream.read_event(timeout=5) == ("announcement", '{"n": 1}')
        finally:
            stream.close()
