from django.apps import AppConfig


class UtilsConfig(AppConfig):
    name = "utils"
    verbose_name = "Shared utilities"

    def ready(self):
        from celery.signals import worker_ready

        # A worker that starts (after a crash, a deploy or a broker outage) sweeps at once rather than at
        # beat's next tick: what was missed while it was away goes out first.
        worker_ready.connect(_sweep_on_start, weak=False, dispatch_uid="utils-sweep-on-start")


def _sweep_on_start(sender=None, **_kwargs) -> None:
    import logging

    from django.conf import settings

    from config.celery_app import app

    if settings.CELERY_TASK_DEFAULT_QUEUE not in app.amqp.queues.consume_from:
        return  # the long-work worker leaves the sweep to the mail worker
    from utils.tasks import dispatch_sweep_task

    try:
        dispatch_sweep_task.delay()
    except Exception as exc:  # noqa: BLE001 — a worker must start even if it cannot queue this; beat will
        logging.getLogger(__name__).warning("could not queue the start-up sweep: %s", exc)
