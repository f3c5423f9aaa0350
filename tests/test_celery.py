"""Celery: configuration, the beat schedule's housekeeping job, and the real worker path."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import CodePurpose, OneTimeCode, PendingRegistration
from accounts.services import code_issue, purge_expired
from accounts.tasks import code_send_task, purge_expired_task
from config.celery_app import app


def test_celery_is_configured_for_safe_delivery():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    assert hasattr(code_send_task, "delay_on_commit")  # DjangoTask: enqueue after commit


def test_beat_schedule_has_the_housekeeping_job():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-expired-codes-and-registrations"]
    assert entry["task"] == purge_expired_task.name
    assert purge_expired_task.name in app.tasks


@pytest.mark.django_db
def test_purge_drops_only_what_is_past_its_life(institute):
    now = timezone.now()
    old = OneTimeCode.objects.create(
        institute=institute,
        email="a@x.test",
        purpose=CodePurpose.REGISTRATION,
        code_hash="x",
        expires_at=now - timedelta(days=2),
    )
    live = OneTimeCode.objects.create(
        institute=institute,
        email="b@x.test",
        purpose=CodePurpose.REGISTRATION,
        code_hash="x",
        expires_at=now + timedelta(minutes=5),
    )
    PendingRegistration.objects.create(
        institute=institute,
        token="t1",
        kind="student",
        email="a@x.test",
        password_hash="x",
        expires_at=now - timedelta(minutes=1),
    )
    PendingRegistration.objects.create(
        institute=institute,
        token="t2",
        kind="student",
        email="b@x.test",
        password_hash="x",
        expires_at=now + timedelta(minutes=30),
    )
    assert purge_expired_task() == {"codes": 1, "pending": 1}
    assert list(OneTimeCode.objects.all()) == [live] and not OneTimeCode.objects.filter(pk=old.pk).exists()
    assert list(PendingRegistration.objects.values_list("token", flat=True)) == ["t2"]
    assert purge_expired() == {"codes": 0, "pending": 0}


@pytest.mark.django_db
def test_code_is_enqueued_only_after_commit(institute, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(code_send_task, "apply_async", lambda args, kwargs, **options: sent.append(kwargs))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        code = code_issue(institute=institute, email="k@x.test", purpose=CodePurpose.REGISTRATION)
    assert sent == [] and len(callbacks) == 1
    callbacks[0]()
    assert sent == [{"code_id": code.pk}]


@pytest.fixture(scope="module")
def celery_worker_on_the_broker():
    """A real worker on the configured broker (Redis in CI, in-memory otherwise), in a thread."""
    from celery.contrib.testing.worker import start_worker

    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = True


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_the_code(institute, celery_worker_on_the_broker, mailoutbox):
    import time

    code = code_issue(institute=institute, email="w@x.test", purpose=CodePurpose.REGISTRATION)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        code.refresh_from_db()
        if code.delivery_status != "queued":
            break
        time.sleep(0.1)
    assert code.delivery_status == "sent"
    assert any("w@x.test" in m.to for m in mailoutbox)
