"""The transactional outbox: a task asked for inside a transaction is queued if and only if it commits.

`CampusTask.delay_on_commit` writes an OutboxMessage row with the work, then sends the task after the commit
and deletes the row. With the broker away the send fails, the row stays, and the person still sees the
success their write deserves. `flush` (run by beat every OUTBOX_SWEEP_SECONDS and when a worker starts)
sends every row older than OUTBOX_GRACE_SECONDS, so the work goes out once the broker is back.

Delivery is at least once (a process can die between the send and the delete), which every task already
tolerates: each finds its work done and does nothing.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from utils.models import OutboxMessage

logger = logging.getLogger(__name__)

FLUSH_BATCH = 200


def enqueue_on_commit(task, args=(), kwargs=None, options=None) -> None:
    """Record the task in the current transaction; send it once the transaction commits."""
    enqueue_many_on_commit(task, [dict(kwargs or {})], args=args, options=options)


def enqueue_many_on_commit(task, kwargs_list: list[dict], *, args=(), options=None) -> None:
    """One task per kwargs, recorded in one insert (a fan-out of 50 batches costs one query, not 50)."""
    if not kwargs_list:
        return
    rows = OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(task=task.name, args=list(args or ()), kwargs=kwargs, options=dict(options or {}))
            for kwargs in kwargs_list
        ]
    )
    transaction.on_commit(lambda: _send_and_forget(task, rows))


def _send_and_forget(task, rows: list[OutboxMessage]) -> None:
    sent = []
    for row in rows:
        try:
            task.apply_async(row.args, row.kwargs, **row.options)
        except (BrokerError, OSError) as exc:
            logger.error("task %s not queued yet, the broker is unreachable: %s (%s)", task.name, exc, row.kwargs)
            break  # the rest would fail alike: the sweep sends them all once the broker is back
        sent.append(row.pk)
    if not sent:
        return
    # The tasks are on their way; a failure to delete only means the sweep sends them again, which is harmless.
    try:
        OutboxMessage.objects.filter(pk__in=sent).delete()
    except Exception:  # noqa: BLE001 — the request's work is committed and queued; never fail it now
        logger.exception("outbox rows %s sent but not deleted; the sweep will send them again", sent)


def flush(*, grace_seconds: float | None = None) -> dict:
    """Send the rows left behind. Returns {"sent": n, "left": n}; stops at the first broker error."""
    from config.celery_app import app

    grace = settings.OUTBOX_GRACE_SECONDS if grace_seconds is None else grace_seconds
    cutoff = timezone.now() - timedelta(seconds=grace)
    sent, broker_down = 0, False
    while True:
        with transaction.atomic():
            # SKIP LOCKED: two sweeps at once (two workers starting) share the rows instead of both sending them.
            rows = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(created_at__lte=cutoff)
                .order_by("pk")[:FLUSH_BATCH]
            )
            if not rows:
                break
            done = []
            for row in rows:
                task = app.tasks.get(row.task)
                if task is None:  # a task renamed or removed since the row was written: keep the row, say so
                    _record_failure(row, f"no task named {row.task}")
                    continue
                try:
                    task.apply_async(row.args, row.kwargs, **row.options)
                except (BrokerError, OSError) as exc:
                    _record_failure(row, f"broker: {exc}")
                    broker_down = True
                    break
                done.append(row.pk)
            OutboxMessage.objects.filter(pk__in=done).delete()
            sent += len(done)
            if broker_down or len(done) < len(rows):  # nothing more can be sent now
                break
    if sent:
        logger.info("outbox: sent %s task(s) left behind", sent)
    return {"sent": sent, "left": OutboxMessage.objects.filter(created_at__lte=cutoff).count()}


def _record_failure(row: OutboxMessage, reason: str) -> None:
    row.attempts += 1
    row.last_error = reason[:300]
    row.save(update_fields=["attempts", "last_error"])
    logger.warning("outbox row %s (%s) not sent: %s", row.pk, row.task, reason)
