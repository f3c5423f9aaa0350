"""Thin adapters around the notification service."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def notify_batch_task(*, institute_id: int, recipient_ids: list[int], message: dict) -> None:
    from utils.notifications import notify_batch

    notify_batch(institute_id=institute_id, recipient_ids=recipient_ids, message=message)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def deliver_batch_task(self, *, delivery_ids: list[int]) -> None:
    """Send a batch; the transient failures go back on the queue with backoff, the rest are done."""
    from utils.notifications import deliver_batch

    result = deliver_batch(delivery_ids=delivery_ids)
    if self.request.is_eager:
        # Run inline (the test settings): an eta or countdown cannot be honoured there, so queueing again would
        # loop at once. The rows stay queued, as they would between two attempts on a real queue.
        return
    for delivery_id, when in result["held"].items():
        deliver_batch_task.apply_async(kwargs={"delivery_ids": [delivery_id]}, eta=when)
    if result["retry"]:
        retries = self.request.retries or 0
        countdown = min(600, 30 * 2 ** min(retries, 5))
        # A new message, so carry the retry count over: otherwise every wait would be the first one (30 s).
        deliver_batch_task.apply_async(
            kwargs={"delivery_ids": result["retry"]}, countdown=countdown, retries=retries + 1
        )


@shared_task(ignore_result=True)
def purge_live_events_task() -> int:
    """The database live transport keeps a few minutes of events."""
    from datetime import timedelta

    from django.utils import timezone

    from utils.models import LiveEvent

    deleted, _n = LiveEvent.objects.filter(created_at__lt=timezone.now() - timedelta(minutes=10)).delete()
    return deleted
