"""A real worker of the default queue sends mail while a generation waits on the long queue, whole."""

import contextlib
import time

import pytest

from accounts.models import CodePurpose
from accounts.services import code_issue
from config.celery_app import app
from timetable import generation
from timetable.models import SuggestionStatus


def _purge(*queues: str) -> None:
    with app.connection_for_write() as conn:
        for name in queues:
            with contextlib.suppress(Exception):  # a queue never declared has nothing to purge
                conn.default_channel.queue_purge(name)


def _waiting(queue: str) -> int:
    from amqp.exceptions import ChannelError

    with app.connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:  # Redis drops an empty queue's list
            return 0


@pytest.fixture(scope="module")
def default_worker():
    """A real worker that consumes only the default queue, as `celery worker -Q default` does."""
    from celery.contrib.testing.worker import start_worker

    app.conf.task_always_eager = False
    _purge("long", "default")
    try:
        with start_worker(
            app, pool="solo", queues=["default"], perform_ping_check=False, shutdown_timeout=10
        ) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = True
        app.amqp.queues._consume_from = None  # back to "consume the default queues" for later workers
        _purge("long", "default")


def _wait_for(predicate, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_mail_goes_out_while_a_generation_waits_on_the_long_queue(week, admin_user, default_worker, mailoutbox):
    suggestion = generation.suggestion_request(
        term=week["term"], actor=admin_user, algorithm="greedy", time_limit=5, section=week["section"]
    )
    code = code_issue(institute=week["term"].institute, email="reset@x.test", purpose=CodePurpose.PASSWORD_RESET)

    def delivered():
        code.refresh_from_db()
        return code.delivery_status != "queued"

    assert _wait_for(delivered)
    assert code.delivery_status == "sent" and any("reset@x.test" in m.to for m in mailoutbox)
    # The generation was not taken by the mail worker: it waits, whole, for a worker of the long queue.
    suggestion.refresh_from_db()
    assert suggestion.status == SuggestionStatus.QUEUED
    assert _waiting("long") == 1

    # What waits there is this generation's message, for a worker of the long queue (`celery worker -Q long`).
    with app.connection_for_write() as conn:
        waiting = conn.SimpleQueue("long")
        message = waiting.get(timeout=5)
        args, kwargs, _embed = message.decode()
        message.ack()
        waiting.close()
    assert message.headers["task"] == "timetable.tasks.suggestion_generate_task"
    assert kwargs == {"suggestion_id": suggestion.pk}
