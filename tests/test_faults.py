"""Committed work gets its side effects exactly once: a broker down at commit time, a worker killed mid-send.

Real components only (see tests/servers.py): a Redis started here as the broker, stopped and started again;
Celery workers and beat as processes of their own, killed with SIGKILL or SIGTERM to the whole group; an SMTP
server on loopback that counts what it acknowledged. The web side is Django's test client in this process,
publishing to that broker. PostgreSQL only: the worker processes must see what the test commits, which an
in-memory SQLite database cannot offer (CI runs these once, on PostgreSQL).
"""

import shutil
import signal
from collections import Counter
from datetime import time as clock

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import CodePurpose, OneTimeCode, Role
from accounts.tests.factories import GuardianLinkFactory, StudentFactory
from announcements.models import Announcement, Audience
from attendance.models import AttendanceRecord
from attendance.tests.test_views import form_data, register_url
from config.celery_app import app
from enrollment.models import Enrollment
from tests.servers import CeleryProcess, MailServer, RedisServer, celery_env, wait_for
from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory
from utils.models import Delivery, DeliveryStatus, OutboxMessage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="worker processes need a shared database"),
]


def _point_app_at(broker_url: str, *, eager: bool) -> None:
    app.conf.broker_url = broker_url
    app.conf.task_always_eager = eager
    app._pool = None  # the producer pool is bound to the old broker
    app.amqp._producer_pool = None


@pytest.fixture
def broker():
    server = RedisServer()
    server.start()
    saved = (app.conf.broker_url, app.conf.task_always_eager)
    _point_app_at(server.url, eager=False)
    yield server
    _point_app_at(saved[0], eager=saved[1])
    server.stop()


@pytest.fixture
def mail():
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery(broker, mail, tmp_path, live_database_url):
    """Start workers and beat on demand; every one still running is stopped at the end."""
    started = []
    env = celery_env(
        database_url=live_database_url,
        broker_url=broker.url,
        mail_url=mail.url,
        OUTBOX_GRACE_SECONDS=1,
        DISPATCH_SWEEP_SECONDS=1,
        NOTIFY_LEASE_SECONDS=3,
    )

    def start(kind="worker"):
        n = len(started)
        if kind == "beat":
            args = ("-S", "celery.beat:PersistentScheduler", "-s", str(tmp_path / "beat-schedule"))
        else:
            args = ("-Q", "default,long", "-c", "2", "--pool", "prefork", "-n", f"faults{n}@%h")
        process = CeleryProcess(kind, env, tmp_path / f"{kind}{n}.log", *args).start()
        started.append(process)
        if kind == "worker":
            process.wait_ready()
        return process

    yield start
    for process in started:
        process.kill()


@pytest.fixture
def live_database_url():
    settings_dict = connection.settings_dict
    return f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"


@pytest.fixture
def school(institute, section, term, subject, teacher_user, student, guardian_link, admin_user):
    """A lesson today, two enrolled students, and twenty more guardians (each with an email address)."""
    students = [student, StudentFactory(section=section, term=term, user__full_name="Pupil One")]
    for s in students:
        Enrollment.objects.create(institute=institute, student=s, subject=subject, term=term)
    GuardianLinkFactory(student=students[1], guardian__user__email="pupil-one-parent@example.test")
    for i in range(20):
        GuardianLinkFactory(
            student=StudentFactory(section=section, term=term), guardian__user__email=f"g{i}@example.test"
        )
    slot = TimeSlotFactory(institute=institute, order=1, starts_at=clock(0, 0), ends_at=clock(0, 50))
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
        "klass": {"entry": entry, "date": timezone.localdate(), "students": students},
        "teacher": teacher_user,
        "admin": admin_user,
        "student": student,
    }


def guardian_count() -> int:
    from accounts.models import User

    return User.objects.filter(role=Role.GUARDIAN, is_active=True).exclude(email="").count()


def per_recipient(mail, subject=None) -> Counter:
    return Counter(to for m in mail.accepted if subject is None or m["subject"] == subject for to in m["to"])


def test_work_committed_while_the_broker_is_down_goes_out_once_when_it_returns(
    client, broker, mail, celery, school, caplog
):
    """Item 3: a register, an announcement and a password reset, each saved with the broker stopped."""
    broker.stop()

    client.force_login(school["teacher"])
    saved = client.post(register_url(school["klass"]), form_data(school["klass"], s1="absent"), follow=True)
    assert saved.status_code == 200 and "Saved" in saved.content.decode()
    assert AttendanceRecord.objects.filter(student=school["klass"]["students"][1], status="absent").exists()

    client.force_login(school["admin"])
    posted = client.post(
        reverse("announcements:manage"),
        {
            "title": "Storm: school closed",
            "body": "Stay home.",
            "audience": Audience.ROLE,
            "target_role": "guardian",
            "urgent": "on",
        },
        follow=True,
    )
    assert posted.status_code == 200 and Announcement.objects.filter(title="Storm: school closed").exists()

    client.logout()
    reset = client.post(reverse("accounts:password_reset"), {"email": school["student"].user.email}, follow=True)
    assert reset.status_code == 200
    code = OneTimeCode.objects.get(email=school["student"].user.email, purpose=CodePurpose.PASSWORD_RESET)
    assert code.delivery_status == "queued"

    # Every side effect is waiting in the outbox, and the log says why.
    assert set(OutboxMessage.objects.values_list("task", flat=True)) == {
        "attendance.tasks.register_saved_task",
        "announcements.tasks.announcement_fan_out_task",
        "accounts.tasks.code_send_task",
    }
    assert "not queued yet, the broker is unreachable" in caplog.text
    assert mail.accepted == []

    broker.start()  # the same port, empty
    celery("worker")
    celery("beat")
    guardians = guardian_count()
    absent_parent = "pupil-one-parent@example.test"
    wait_for(
        lambda: (
            sum(per_recipient(mail, "Storm: school closed").values()) >= guardians
            and per_recipient(mail)[absent_parent] >= 2
            and any(school["student"].user.email in m["to"] for m in mail.accepted)
        ),
        timeout=60,
        what="the announcement, the absence alert and the reset code",
    )
    wait_for(lambda: not OutboxMessage.objects.exists(), timeout=20, what="an empty outbox")
    import time

    time.sleep(3)  # several more sweeps: nothing may go out twice
    storm = per_recipient(mail, "Storm: school closed")
    assert len(storm) == guardians and set(storm.values()) == {1}
    assert per_recipient(mail)[absent_parent] == 2  # the storm and the absence alert, once each
    assert per_recipient(mail)[school["student"].user.email] == 1  # one reset code
    code.refresh_from_db()
    assert code.delivery_status == "sent"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_a_worker_killed_mid_fan_out_leaves_nobody_without_the_mail_and_nobody_with_two(
    client, broker, mail, celery, school, sig
):
    """Item 4: the mail server holds its answer after a few messages; the worker group is killed meanwhile."""
    worker = celery("worker")
    celery("beat")
    mail.hold_after(5)
    client.force_login(school["admin"])
    client.post(
        reverse("announcements:manage"),
        {
            "title": "Sports day moved",
            "body": "Now on Friday.",
            "audience": Audience.ROLE,
            "target_role": "guardian",
            "urgent": "on",
        },
    )
    wait_for(lambda: mail.held() >= 1, timeout=60, what="a send in flight")
    wait_for(
        lambda: Delivery.objects.filter(status=DeliveryStatus.SENDING).exists(), timeout=10, what="a claimed delivery"
    )
    worker.kill(sig)
    mail.release()
    # What the killed worker left half done: claimed (its lease running) and never acknowledged by the server.
    in_flight = list(Delivery.objects.filter(status=DeliveryStatus.SENDING).values_list("pk", flat=True))
    assert in_flight, "the kill left nothing in flight: the test did not test a crash mid-send"

    celery("worker")  # a new worker (a restart after the crash or the deploy)
    guardians = guardian_count()
    wait_for(
        lambda: len(per_recipient(mail, "Sports day moved")) >= guardians,
        timeout=90,
        what="every guardian's mail",
    )
    wait_for(
        lambda: not Delivery.objects.exclude(status=DeliveryStatus.SENT).exists(),
        timeout=30,
        what="every delivery recorded as sent",
    )
    import time

    time.sleep(4)  # past another lease and several sweeps: nothing more may go out
    received = per_recipient(mail, "Sports day moved")
    assert len(received) == guardians, "somebody got no mail"
    assert [to for to, n in received.items() if n > 1] == [], "somebody got the mail twice"
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == guardians
    # The half-done ones were sent by the next worker, on a second attempt, once their lease had run out.
    assert set(Delivery.objects.filter(pk__in=in_flight).values_list("attempts", flat=True)) == {2}
