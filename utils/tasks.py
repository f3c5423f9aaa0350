"""Thin adapters around the notification service."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def notify_batch_task(*, institute_id: int, recipient_ids: list[int], message: dict) -> None:
    from utils.notifications import notify_batch

    notify_batch(institute_id=institute_id, recipient_ids=recipient_ids, message=message)


@shared_task(acks_late=True, ignore_result=True)
def deliver_batch_task(*, delivery_ids: list[int]) -> None:
    """Send a batch. A delivery to try later keeps its time in the database, and the sweep queues it then."""
    from utils.notifications import deliver_batch

    deliver_batch(delivery_ids=delivery_ids)


@shared_task(ignore_result=True)
def dispatch_sweep_task() -> dict:
    """Beat, every DISPATCH_SWEEP_SECONDS, and each worker as it starts: send the outbox rows the broker missed,
    and queue the deliveries that are due (retries, the end of quiet hours, leases of killed workers)."""
    from utils import outbox
    from utils.notifications import deliveries_dispatch

    flushed = outbox.flush()
    return {**flushed, "deliveries": deliveries_dispatch()}


@shared_task(ignore_result=True)
def purge_live_events_task() -> int:
    """The database live transport keeps a few minutes of events."""
    from datetime import timedelta

    from django.utils import timezone

    from utils.models import LiveEvent

    deleted, _n = LiveEvent.objects.filter(created_at__lt=timezone.now() - timedelta(minutes=10)).delete()
    return deleted
