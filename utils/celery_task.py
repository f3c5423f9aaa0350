"""The base of every Celery task: work queued after a commit never fails the request that committed.

With the broker (Redis) away, `delay_on_commit` raises after the data is saved, so the person would get an
error page for a write that succeeded. Here the send is tried, and a broker that cannot be reached is
logged (ERROR, with the task and its arguments) instead: the write stands, the work is not done. Work
that must survive an outage needs an outbox row written in the same transaction and a sweep (not built).
"""

import logging

from celery.contrib.django.task import DjangoTask
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


class CampusTask(DjangoTask):
    def delay_on_commit(self, *args, **kwargs) -> None:
        transaction.on_commit(lambda: self._send_after_commit(self.delay, args, kwargs))

    def apply_async_on_commit(self, args=None, kwargs=None, **options) -> None:
        transaction.on_commit(lambda: self._send_after_commit(self.apply_async, (args, kwargs), options))

    def _send_after_commit(self, send, args, kwargs) -> None:
        try:
            send(*args, **kwargs)
        except (OperationalError, OSError) as exc:
            logger.error("task %s not queued, the broker is unreachable: %s (%s)", self.name, exc, kwargs)
