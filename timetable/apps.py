from django.apps import AppConfig


class TimetableConfig(AppConfig):
    name = "timetable"
    verbose_name = "Timetables"

    def ready(self):
        from celery.signals import worker_process_init, worker_ready

        from timetable import catalogue  # noqa: F401  registers rooms, slots, ... as catalogue pages

        # Generation runs in the worker: load the compiled search there at start, in the background, so
        # the first generation's time limit is not spent loading (or, on a fresh install, compiling) it.
        # worker_ready: the worker process itself (threads and solo pools); worker_process_init: each
        # prefork child.
        worker_ready.connect(_warm_kernel, weak=False, dispatch_uid="timetable-warm-kernel")
        worker_process_init.connect(_warm_kernel, weak=False, dispatch_uid="timetable-warm-kernel-child")


def _warm_kernel(**_kwargs) -> None:
    import threading

    from django.conf import settings

    from config.celery_app import app

    # Only a worker of the long queue generates: the mail worker need not load (or compile) the search.
    # consume_from is what `-Q` selected (the default queue alone without it), set before these signals.
    if settings.TIMETABLE_WARM_KERNEL and settings.LONG_TASK_QUEUE in app.amqp.queues.consume_from:
        from timetable.engine.kernel import warm_up

        threading.Thread(target=warm_up, name="timetable-kernel-warm-up", daemon=True).start()
