"""The notification service: batching, idempotency, retries, preferences, quiet hours, scoping, query budget.

The SMS gateway and the mail server are real local stand-ins: a stdlib HTTP server and an aiosmtpd server
on loopback ports, so the HTTP backend and Django's SMTP backend run unchanged.
"""

import json
import socket
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from accounts.models import Role, User
from accounts.tests.factories import UserFactory, default_password_hash
from utils import notifications
from utils.models import Channel, Delivery, DeliveryStatus, Notification, NotificationKind, NotificationPreference
from utils.notifications import (
    DEFAULTS,
    Message,
    TransientDeliveryError,
    channels_for,
    deliver_batch,
    deliveries_dispatch,
    deliveries_due,
    delivery_send,
    notify,
    notify_batch,
    quiet_hours_end,
    retry_wait,
)
from utils.sms import SmsError, send_sms
from utils.tasks import deliver_batch_task

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- helpers and stand-ins


class RecordingSms:
    """An SMS backend that records what it sends, or raises what a test tells it to."""

    sent: list = []
    fail: Exception | None = None

    def send(self, *, to: str, text: str, reference: str = "") -> str:
        if RecordingSms.fail is not None:
            raise RecordingSms.fail
        RecordingSms.sent.append((to, text))
        return f"sms-{len(RecordingSms.sent)}"


@pytest.fixture
def sms(settings):
    settings.SMS_BACKEND = "utils.tests.test_notifications.RecordingSms"
    RecordingSms.sent = []
    RecordingSms.fail = None
    yield RecordingSms
    RecordingSms.sent = []
    RecordingSms.fail = None


@pytest.fixture
def requeued(monkeypatch):
    """A later send put on the broker (an eta or a countdown): there must be none, waits live in the database."""
    calls = []
    real = deliver_batch_task.apply_async

    def apply_async(args=None, kwargs=None, **options):
        if "eta" in options or "countdown" in options:
            calls.append({"kwargs": kwargs, **options})
        return real(args, kwargs, **options)

    monkeypatch.setattr(deliver_batch_task, "apply_async", apply_async)
    return calls


def due_at(when, among=None) -> list[int]:
    """What the sweep would hand to a worker at `when` (of the deliveries `among`, if given)."""
    with mock.patch.object(timezone, "now", lambda: when):
        due = deliveries_due()
    return due if among is None else [pk for pk in due if pk in among]


def make_people(institute, n, *, prefix="g", role=Role.GUARDIAN, **fields):
    password = default_password_hash()
    return User.objects.bulk_create(
        [
            User(
                institute=institute,
                role=role,
                username=f"{prefix}{i}",
                email=f"{prefix}{i}@example.test",
                full_name=f"{prefix.upper()} Person {i}",
                phone=f"+1555{i:07d}",
                password=password,
                **fields,
            )
            for i in range(n)
        ]
    )


def msg(**values) -> dict:
    values.setdefault("kind", NotificationKind.ANNOUNCEMENT)
    values.setdefault("title", "Sports day")
    values.setdefault("body", "Bring water.")
    values.setdefault("url", "/announcements/")
    values.setdefault("dedupe_key", "test:1")
    return asdict(Message(**values))


def deliveries_of(user):
    return {d.channel: d for d in Delivery.objects.filter(notification__recipient=user)}


def run_batch(institute, users, **message):
    """notify_batch as the task runs it, with its after-commit sends run inline."""
    return notify_batch(institute_id=institute.pk, recipient_ids=[u.pk for u in users], message=msg(**message))


# ---------------------------------------------------------------- batching


def test_notify_needs_a_dedupe_key(institute):
    with pytest.raises(ValueError, match="dedupe_key"):
        notify(institute_id=institute.pk, recipient_ids=[1], message=Message(kind="announcement", title="x"))


def test_1200_recipients_go_in_three_batches_and_each_gets_one_notification(
    institute, monkeypatch, django_capture_on_commit_callbacks
):
    people = make_people(institute, 1200)
    ids = [u.pk for u in people]
    sizes = []
    real = notifications.notify_batch

    def counting(**kwargs):
        sizes.append(len(kwargs["recipient_ids"]))
        return real(**kwargs)

    monkeypatch.setattr(notifications, "notify_batch", counting)
    message = Message(kind=NotificationKind.ANNOUNCEMENT, title="Fees", body="Due Friday", dedupe_key="fees:1")
    with django_capture_on_commit_callbacks(execute=True):
        # Duplicates in the input are dropped before batching.
        queued = notify(institute_id=institute.pk, recipient_ids=ids + ids[:50], message=message)
        assert sizes == []  # nothing runs before the caller's transaction commits
    assert queued == 3
    assert sizes == [500, 500, 200]
    assert Notification.objects.count() == 1200
    per_person = Notification.objects.values_list("recipient_id", flat=True)
    assert sorted(per_person) == sorted(ids)


# ---------------------------------------------------------------- idempotency


def test_notify_twice_creates_nothing_new_and_sends_nothing_twice(
    institute, sms, mailoutbox, django_capture_on_commit_callbacks
):
    people = make_people(institute, 3)
    message = Message(kind=NotificationKind.ABSENCE, title="Absent", body="Asha was absent.", dedupe_key="abs:7")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            notify(institute_id=institute.pk, recipient_ids=[u.pk for u in people], message=message)
    assert Notification.objects.count() == 3
    assert Delivery.objects.count() == 6  # absence defaults: email and SMS each
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    assert len(mailoutbox) == 3 and len(sms.sent) == 3


def test_notify_batch_rerun_for_same_key_returns_no_queued_work(institute, sms, django_capture_on_commit_callbacks):
    people = make_people(institute, 2)
    with django_capture_on_commit_callbacks(execute=True):
        first = run_batch(institute, people, kind=NotificationKind.ABSENCE)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = run_batch(institute, people, kind=NotificationKind.ABSENCE)
    assert len(first) == 4 and second == []
    assert len(callbacks) == 1  # only the live event; no delivery task
    assert len(sms.sent) == 2


def test_a_redelivered_task_for_a_sent_delivery_does_nothing(
    institute, sms, mailoutbox, requeued, django_capture_on_commit_callbacks
):
    (person,) = make_people(institute, 1)
    with django_capture_on_commit_callbacks(execute=True):
        ids = run_batch(institute, [person], kind=NotificationKind.ABSENCE)
    before = list(Delivery.objects.order_by("pk").values("pk", "status", "attempts", "sent_at", "updated_at"))
    deliver_batch_task(delivery_ids=ids)
    deliver_batch_task(delivery_ids=ids)
    assert list(Delivery.objects.order_by("pk").values("pk", "status", "attempts", "sent_at", "updated_at")) == before
    assert len(mailoutbox) == 1 and len(sms.sent) == 1 and requeued == []
    assert delivery_send(delivery_id=ids[0]) == DeliveryStatus.SENT
    assert delivery_send(delivery_id=987654) == "gone"


# ---------------------------------------------------------------- retries


def queued_sms(institute, **user_fields):
    (person,) = make_people(institute, 1, **user_fields)
    run_batch(institute, [person], kind=NotificationKind.ABSENCE)  # on_commit never runs: nothing sent yet
    return deliveries_of(person)[Channel.SMS]


def test_a_transient_sms_failure_stays_queued_with_the_reason_and_the_sweep_tries_it_again_later(
    institute, sms, requeued, settings, monkeypatch
):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    delivery = queued_sms(institute)
    sms.fail = SmsError("gateway answered 503", transient=True)
    start = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: start)
    deliver_batch_task(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.QUEUED, 1, "gateway answered 503")
    assert (delivery.not_before, delivery.lease_until) == (start + timedelta(seconds=30), None)
    assert requeued == []  # the wait is in the database, not on the broker
    assert due_at(start + timedelta(seconds=29), [delivery.pk]) == []
    assert due_at(start + timedelta(seconds=30), [delivery.pk]) == [delivery.pk]

    # Too early, a redelivered message does nothing; when due, the second failure doubles the wait.
    assert delivery_send(delivery_id=delivery.pk) == "held"
    second = start + timedelta(seconds=30)
    monkeypatch.setattr(timezone, "now", lambda: second)
    deliver_batch_task(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.not_before) == (2, second + timedelta(seconds=60))

    # The third failure is the last allowed attempt: failed for good, with the reason, and never due again.
    monkeypatch.setattr(timezone, "now", lambda: second + timedelta(seconds=60))
    deliver_batch_task(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.FAILED, 3, "gateway answered 503")
    assert due_at(second + timedelta(days=1), [delivery.pk]) == []
    sms.fail = None
    deliver_batch_task(delivery_ids=[delivery.pk])
    assert sms.sent == [] and requeued == []


def test_the_backoff_doubles_and_is_capped():
    assert [retry_wait(n).total_seconds() for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]


def test_a_permanent_sms_failure_fails_at_once(institute, sms, requeued):
    delivery = queued_sms(institute)
    sms.fail = SmsError("gateway answered 400", transient=False)
    deliver_batch_task(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.FAILED, 1, "gateway answered 400")
    assert requeued == [] and due_at(timezone.now() + timedelta(days=1), [delivery.pk]) == []


def test_delivery_send_raises_transient_after_committing_the_attempt(institute, sms):
    delivery = queued_sms(institute)
    sms.fail = SmsError("gateway answered 502", transient=True)
    with pytest.raises(TransientDeliveryError):
        delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.status == DeliveryStatus.QUEUED


def test_one_unsendable_message_fails_alone_and_the_batch_goes_on(institute, sms, mailoutbox):
    """A line break in a title makes the mail header invalid; that must not stop the other sends."""
    people = make_people(institute, 2)
    run_batch(institute, people, kind=NotificationKind.ALERT, title="Line one\nline two", dedupe_key="bad")
    run_batch(institute, people, kind=NotificationKind.ALERT, title="A fine title", dedupe_key="good")
    ids = list(Delivery.objects.order_by("notification__dedupe_key", "pk").values_list("pk", flat=True))
    assert deliver_batch(delivery_ids=ids) == {"retry": [], "held": {}}
    rows = Delivery.objects.order_by("pk")
    bad = [d for d in rows if d.notification.dedupe_key == "bad"]
    good = [d for d in rows if d.notification.dedupe_key == "good"]
    assert {(d.status, d.attempts) for d in bad} == {(DeliveryStatus.FAILED, 1)}
    assert all(d.error.startswith("could not send:") for d in bad)
    assert {d.status for d in good} == {DeliveryStatus.SENT}
    assert [m.subject for m in mailoutbox] == ["A fine title", "A fine title"]


def test_a_batch_out_of_time_leaves_the_unsent_rest_to_the_sweep(institute, sms, monkeypatch, settings):
    """Celery's soft time limit (a slow gateway) interrupts a batch: nothing may be left queued and forgotten."""
    people = make_people(institute, 4)
    run_batch(institute, people, kind=NotificationKind.ABSENCE, dedupe_key="slow")
    ids = list(Delivery.objects.filter(channel=Channel.SMS).order_by("pk").values_list("pk", flat=True))
    calls = []

    class SlowGateway:
        def send(self, *, to, text, reference):
            calls.append(to)
            if len(calls) == 2:
                raise SoftTimeLimitExceeded()
            return "ok"

    monkeypatch.setattr("utils.sms.get_backend", SlowGateway)
    result = deliver_batch(delivery_ids=ids)
    assert result == {"retry": ids[1:], "held": {}}
    statuses = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses[ids[0]] == DeliveryStatus.SENT
    # The interrupted one is still claimed (its text may have left); the rest were never touched.
    assert statuses[ids[1]] == DeliveryStatus.SENDING
    assert {statuses[i] for i in ids[2:]} == {DeliveryStatus.QUEUED}
    # Past the grace the sweep hands on the untouched ones; past the lease, the interrupted one too.
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_GRACE_SECONDS + 1)
    assert due_at(later, ids) == ids[2:]
    assert due_at(later + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS), ids) == ids[1:]
    # The interrupted attempt counts: a delivery that keeps stopping its workers fails in the end, with why.
    assert Delivery.objects.get(pk=ids[1]).attempts == 1
    Delivery.objects.filter(pk=ids[1]).update(attempts=settings.NOTIFY_MAX_ATTEMPTS)
    with mock.patch.object(timezone, "now", lambda: later + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)):
        deliveries_dispatch()
    stuck = Delivery.objects.get(pk=ids[1])
    assert (stuck.status, stuck.error) == (DeliveryStatus.FAILED, "the send was interrupted on every attempt")


# ---------------------------------------------------------------- preferences


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_no_preference_row_means_the_kind_defaults(kind):
    assert channels_for(kind=kind, urgent=False, preference=None) == DEFAULTS[kind]


def test_urgent_adds_email_to_the_defaults():
    assert channels_for(kind=NotificationKind.ANNOUNCEMENT, urgent=True, preference=None) == {
        "in_app": True,
        "email": True,
        "sms": False,
    }


def test_preferences_through_a_batch(institute, sms, django_capture_on_commit_callbacks):
    default, urgent_default, chooser, muted = make_people(institute, 4)
    NotificationPreference.objects.create(
        institute=institute, user=chooser, kind=NotificationKind.ANNOUNCEMENT, in_app=True, email=False, sms=True
    )
    NotificationPreference.objects.create(
        institute=institute, user=muted, kind=NotificationKind.ANNOUNCEMENT, in_app=False, email=True, sms=False
    )
    # A row for another kind does not apply.
    NotificationPreference.objects.create(
        institute=institute, user=default, kind=NotificationKind.ABSENCE, in_app=True, email=True, sms=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        run_batch(institute, [default], dedupe_key="plain")
        run_batch(institute, [urgent_default, chooser, muted], urgent=True, dedupe_key="urgent")
    assert deliveries_of(default) == {}
    assert set(deliveries_of(urgent_default)) == {Channel.EMAIL}
    assert set(deliveries_of(chooser)) == {Channel.SMS}  # the person's own choice wins over "urgent"
    assert set(deliveries_of(muted)) == {Channel.EMAIL}
    inbox = dict(Notification.objects.values_list("recipient_id", "read_at"))
    assert inbox[muted.pk] is not None  # in_app off: the row exists (for the log) but is born read
    assert inbox[default.pk] is None and inbox[chooser.pk] is None


def test_no_delivery_without_an_address(institute, sms):
    (person,) = make_people(institute, 1)
    User.objects.filter(pk=person.pk).update(phone="", email="")
    assert run_batch(institute, [person], kind=NotificationKind.ABSENCE) == []
    assert Notification.objects.filter(recipient=person).count() == 1


# ---------------------------------------------------------------- quiet hours


def at(hour, minute=0, day=10):
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def quiet(start, end):
    return User(sms_quiet_from=start, sms_quiet_until=end)


@pytest.mark.parametrize(
    ("window", "now", "until"),
    [
        ((clock(13), clock(14)), at(13, 30), at(14)),
        ((clock(13), clock(14)), at(13), at(14)),
        ((clock(13), clock(14)), at(14), None),  # the end itself is outside
        ((clock(13), clock(14)), at(12, 59), None),
        ((clock(22), clock(7)), at(23, 30), at(7, day=11)),  # over midnight, before it
        ((clock(22), clock(7)), at(0, 0), at(7)),  # over midnight, after it
        ((clock(22), clock(7)), at(6, 59), at(7)),
        ((clock(22), clock(7)), at(7), None),
        ((clock(22), clock(7)), at(12), None),
        ((clock(22), clock(7)), at(21, 59), None),
        ((None, clock(7)), at(3), None),  # half a window is no window
        ((clock(7), clock(7)), at(7), None),
    ],
)
def test_quiet_hours_end(window, now, until):
    assert quiet_hours_end(quiet(*window), now) == until


def test_quiet_hours_follow_the_local_time_zone(settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+05:30
    timezone.deactivate()
    # 17:00 UTC is 22:30 in Kolkata: inside 22:00-07:00, which ends at 07:00 Kolkata = 01:30 UTC.
    assert quiet_hours_end(quiet(clock(22), clock(7)), at(17)) == at(1, 30, day=11)
    assert quiet_hours_end(quiet(clock(22), clock(7)), at(12)) is None


@pytest.mark.parametrize(("now", "held_until"), [(at(23, 30), at(7, day=11)), (at(2), at(7))])
def test_an_sms_in_quiet_hours_is_held_and_one_outside_is_sent(
    institute, sms, monkeypatch, requeued, django_capture_on_commit_callbacks, now, held_until
):
    monkeypatch.setattr(timezone, "now", lambda: now)
    sleeper, awake = make_people(institute, 2)
    User.objects.filter(pk=sleeper.pk).update(sms_quiet_from=clock(22), sms_quiet_until=clock(7))
    User.objects.filter(pk=awake.pk).update(sms_quiet_from=clock(9), sms_quiet_until=clock(17))
    with django_capture_on_commit_callbacks(execute=True):
        run_batch(institute, [sleeper, awake], kind=NotificationKind.ABSENCE)
    held, sent = deliveries_of(sleeper), deliveries_of(awake)
    assert held[Channel.SMS].not_before == held_until
    assert (held[Channel.SMS].status, held[Channel.SMS].attempts) == (DeliveryStatus.QUEUED, 0)
    assert held[Channel.EMAIL].status == DeliveryStatus.SENT  # quiet hours hold texts only
    assert sent[Channel.SMS].not_before is None and sent[Channel.SMS].status == DeliveryStatus.SENT
    assert sms.sent == [(awake.phone, "Sports day: Bring water.")]

    # A worker leaves the held text alone; the sweep hands it on when the window ends, and it is sent then.
    requeued.clear()
    deliver_batch_task(delivery_ids=[held[Channel.SMS].pk])
    assert requeued == [] and Delivery.objects.get(pk=held[Channel.SMS].pk).attempts == 0
    assert held[Channel.SMS].pk not in due_at(held_until - timedelta(seconds=1))
    monkeypatch.setattr(timezone, "now", lambda: held_until)
    assert deliveries_due() == [held[Channel.SMS].pk]
    deliver_batch_task(delivery_ids=[held[Channel.SMS].pk])
    assert Delivery.objects.get(pk=held[Channel.SMS].pk).status == DeliveryStatus.SENT
    assert sms.sent[-1][0] == sleeper.phone


def test_held_deliveries_do_not_loop_when_tasks_run_inline(
    institute, sms, monkeypatch, django_capture_on_commit_callbacks
):
    """Eager tasks (the test settings) cannot wait for an eta; the held text stays queued instead of looping."""
    monkeypatch.setattr(timezone, "now", lambda: at(23, 30))
    (person,) = make_people(institute, 1, sms_quiet_from=clock(22), sms_quiet_until=clock(7))
    batches = []
    real = notifications.deliver_batch
    monkeypatch.setattr(notifications, "deliver_batch", lambda **kw: batches.append(kw) or real(**kw))
    with django_capture_on_commit_callbacks(execute=True):
        run_batch(institute, [person], kind=NotificationKind.ABSENCE)
    assert len(batches) == 1
    assert deliveries_of(person)[Channel.SMS].status == DeliveryStatus.QUEUED
    assert sms.sent == []


# ---------------------------------------------------------------- who is notified


def test_inactive_users_and_other_institutes_are_never_notified(
    institute, other_institute, sms, mailoutbox, django_capture_on_commit_callbacks
):
    active, inactive = make_people(institute, 2)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    (outsider,) = make_people(other_institute, 1, prefix="o")
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            institute_id=institute.pk,
            recipient_ids=[active.pk, inactive.pk, outsider.pk],
            message=Message(kind=NotificationKind.ABSENCE, title="Absent", dedupe_key="abs:1"),
        )
    assert list(Notification.objects.values_list("recipient_id", "institute_id")) == [(active.pk, institute.pk)]
    assert set(Delivery.objects.values_list("institute_id", flat=True)) == {institute.pk}
    assert [m.to for m in mailoutbox] == [[active.email]]
    assert sms.sent == [(active.phone, "Absent: ")]


# ---------------------------------------------------------------- query budget


@pytest.mark.parametrize("size", [10, 100])
def test_notify_batch_query_count_does_not_grow_with_the_batch(institute, sms, size, django_assert_num_queries):
    people = make_people(institute, size)
    NotificationPreference.objects.create(
        institute=institute, user=people[0], kind=NotificationKind.ANNOUNCEMENT, in_app=False, email=True, sms=True
    )
    User.objects.filter(pk=people[1].pk).update(sms_quiet_from=clock(0), sms_quiet_until=clock(23, 59))
    # users, preferences, notifications insert, notifications read back, deliveries insert, delivery ids,
    # the outbox rows of the send tasks (one insert for every batch), and the savepoint pair around the service's
    # transaction.
    with django_assert_num_queries(9):
        ids = run_batch(institute, people, urgent=True)
    assert len(ids) == size + 1  # everyone's urgent email, plus the one person who chose SMS


# ---------------------------------------------------------------- the SMS HTTP gateway (a real local server)


class Gateway(ThreadingHTTPServer):
    """A stand-in SMS gateway: records each request and answers from a script of (status, body, delay)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.requests = []
        self.script = []
        self.default = (200, {"id": "gw-1"}, 0)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v1/messages"


class GatewayHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(raw)})
        status, body, delay = self.server.script.pop(0) if self.server.script else self.server.default
        time.sleep(delay)
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "utils.sms.http.HttpBackend"
    settings.SMS_HTTP_URL = server.url
    settings.SMS_HTTP_TOKEN = "tok-123"
    settings.SMS_SENDER = "Riverside"
    settings.SMS_HTTP_TIMEOUT = 2.0
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_http_backend_posts_json_with_the_bearer_token(gateway):
    gateway.script = [(200, {"id": "msg-42"}, 0)]
    assert send_sms(to="+15550000001", text="Hello") == "msg-42"
    (request,) = gateway.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer tok-123"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {"to": "+15550000001", "text": "Hello", "sender": "Riverside"}
    assert "Idempotency-Key" not in request["headers"]  # no reference given, none sent


def test_an_sms_is_sent_through_the_gateway_end_to_end(institute, gateway, django_capture_on_commit_callbacks):
    (person,) = make_people(institute, 1)
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            institute_id=institute.pk,
            recipient_ids=[person.pk],
            message=Message(kind=NotificationKind.ABSENCE, title="Absent", body="Asha missed CS201.", dedupe_key="a1"),
        )
    delivery = deliveries_of(person)[Channel.SMS]
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.SENT, 1, "")
    assert [r["json"]["text"] for r in gateway.requests] == ["Absent: Asha missed CS201."]
    assert gateway.requests[0]["json"]["to"] == person.phone


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        ((429, {"error": "slow down"}, 0), DeliveryStatus.QUEUED, "gateway answered 429"),
        ((500, {"error": "oops"}, 0), DeliveryStatus.QUEUED, "gateway answered 500"),
        ((503, "", 0), DeliveryStatus.QUEUED, "gateway answered 503"),
        ((400, {"error": "bad number"}, 0), DeliveryStatus.FAILED, "gateway answered 400"),
        ((401, {"error": "bad token"}, 0), DeliveryStatus.FAILED, "gateway answered 401"),
        ((200, "<html>not json</html>", 0), DeliveryStatus.FAILED, "gateway answered something that is not JSON"),
    ],
)
def test_gateway_answers_are_transient_or_permanent(institute, gateway, answer, status, error):
    delivery = queued_sms(institute)
    gateway.script = [answer]
    deliver_batch_task(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (status, 1, error)
    assert len(gateway.requests) == 1
    assert bool(due_at(timezone.now() + timedelta(minutes=1), [delivery.pk])) == (status == DeliveryStatus.QUEUED)


def test_a_transient_gateway_error_then_success_sends_once(institute, gateway, monkeypatch):
    delivery = queued_sms(institute)
    gateway.script = [(500, {}, 0), (200, {"id": "second"}, 0)]
    deliver_batch_task(delivery_ids=[delivery.pk])
    later = timezone.now() + timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert delivery.pk in deliveries_due()
    deliver_batch_task(delivery_ids=[delivery.pk])
    deliver_batch_task(delivery_ids=[delivery.pk])  # a duplicate of the retry message
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.SENT, 2, "")
    assert len(gateway.requests) == 2
    # Both attempts carried the delivery's own reference, so the gateway could tell a repeat from a new text.
    assert {r["headers"]["Idempotency-Key"] for r in gateway.requests} == {f"delivery-{delivery.pk}"}


def test_a_gateway_slower_than_the_timeout_is_transient(institute, gateway, settings):
    settings.SMS_HTTP_TIMEOUT = 0.3
    delivery = queued_sms(institute)
    gateway.script = [(200, {"id": "late"}, 1.5)]
    started = time.monotonic()
    with pytest.raises(TransientDeliveryError):
        delivery_send(delivery_id=delivery.pk)
    assert time.monotonic() - started < 1.4
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.QUEUED, 1)
    assert delivery.error.startswith("gateway unreachable:") and "timed out" in delivery.error


def test_an_unreachable_gateway_is_transient(institute, gateway, settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        settings.SMS_HTTP_URL = f"http://127.0.0.1:{probe.getsockname()[1]}/v1/messages"
    delivery = queued_sms(institute)
    with pytest.raises(TransientDeliveryError):
        delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED and delivery.error.startswith("gateway unreachable:")


# ---------------------------------------------------------------- email through a real SMTP server


class Collector:
    """aiosmtpd handler: keeps each message; refuses RCPT for addresses in `refuse` with their code."""

    def __init__(self):
        self.messages = []
        self.refuse = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": parsed})
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    from aiosmtpd.controller import Controller

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    handler.controller = controller
    yield handler
    if controller._thread is not None:
        controller.stop()


def test_an_urgent_announcement_is_mailed_through_smtp_then_a_stopped_server_is_transient(
    institute, admin_user, guardian_link, smtp, settings, django_capture_on_commit_callbacks
):
    from announcements.models import Audience
    from announcements.services import announcement_create

    guardian = guardian_link.guardian.user
    with django_capture_on_commit_callbacks(execute=True):
        announcement_create(
            author=admin_user,
            title="School closed tomorrow",
            body="Storm warning: **stay home** & stay safe.",
            audience=Audience.ROLE,
            target_role=Role.GUARDIAN,
            urgent=True,
        )
    (mail,) = smtp.messages
    assert mail["to"] == ["meera@example.test"]
    assert mail["message"]["To"] == "meera@example.test"
    assert mail["message"]["Subject"] == "School closed tomorrow"
    assert mail["message"]["From"] == settings.DEFAULT_FROM_EMAIL
    text = mail["message"].get_content()
    # Plain text: no tags and no HTML entities (the body is stored as markup, mailed as text).
    assert text.startswith("Storm warning: stay home & stay safe.")
    assert f"{settings.SITE_URL}/announcements/" in text
    delivery = deliveries_of(guardian)[Channel.EMAIL]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)
    assert Notification.objects.get(recipient=guardian).body == "Storm warning: stay home & stay safe."

    # The mail server goes away: the next send is refused, kept queued, and says why.
    smtp.controller.stop()
    run_batch(institute, [guardian], kind=NotificationKind.ALERT, title="Second", dedupe_key="after-stop")
    late = Delivery.objects.get(notification__dedupe_key="after-stop", channel=Channel.EMAIL)
    with pytest.raises(TransientDeliveryError):
        delivery_send(delivery_id=late.pk)
    late.refresh_from_db()
    assert (late.status, late.attempts) == (DeliveryStatus.QUEUED, 1)
    assert late.error.startswith("mail server:") and "refused" in late.error.lower()
    assert len(smtp.messages) == 1


def test_a_refused_address_fails_at_once_and_a_busy_mailbox_is_retried(institute, smtp, requeued):
    gone, busy = make_people(institute, 2)
    smtp.refuse = {gone.email: "550 5.1.1 No such user", busy.email: "450 4.2.1 Mailbox busy"}
    run_batch(institute, [gone, busy], kind=NotificationKind.ALERT)
    deliver_batch_task(delivery_ids=list(Delivery.objects.values_list("pk", flat=True)))
    a, b = deliveries_of(gone)[Channel.EMAIL], deliveries_of(busy)[Channel.EMAIL]
    assert (a.status, a.attempts, a.error) == (DeliveryStatus.FAILED, 1, "mail server refused the address (550)")
    assert (b.status, b.attempts, b.error) == (DeliveryStatus.QUEUED, 1, "mail server refused the address (450)")
    assert requeued == [] and due_at(timezone.now() + timedelta(seconds=31), [a.pk, b.pk]) == [b.pk]
    assert smtp.messages == []


def test_a_mail_server_that_never_answers_times_out_transiently(institute, settings):
    """A server that accepts the connection and says nothing must not hold the delivery's row lock forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", listener.getsockname()[1]
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 0.5
    try:
        (person,) = make_people(institute, 1)
        run_batch(institute, [person], kind=NotificationKind.ALERT)
        delivery = deliveries_of(person)[Channel.EMAIL]
        started = time.monotonic()
        with pytest.raises(TransientDeliveryError):
            delivery_send(delivery_id=delivery.pk)
        assert time.monotonic() - started < 3
    finally:
        listener.close()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED and "timed out" in delivery.error


def test_email_has_a_timeout_when_the_setting_is_unset(institute, settings, monkeypatch):
    settings.EMAIL_TIMEOUT = None
    seen = {}
    real = notifications.get_connection

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(notifications, "get_connection", spy)
    person = UserFactory(institute=institute, role=Role.GUARDIAN)
    run_batch(institute, [person], kind=NotificationKind.ALERT)
    delivery_send(delivery_id=deliveries_of(person)[Channel.EMAIL].pk)
    assert seen == {"timeout": notifications.MAIL_TIMEOUT}
