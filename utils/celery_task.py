"""The base of every Celery task: work asked for in a transaction is queued once the transaction commits.

`delay_on_commit` goes through the transactional outbox (utils/outbox.py): the request's transaction also
records the task, so a broker that is down when the transaction commits neither fails the request (the write
stands and the person sees it saved) nor loses the work (the sweep sends it once the broker is back).
"""

from celery.contrib.django.task import DjangoTask

from utils import outbox


class CampusTask(DjangoTask):
    def delay_on_commit(self, *args, **kwargs) -> None:
        outbox.enqueue_on_commit(self, args, kwargs)

    def apply_async_on_commit(self, args=None, kwargs=None, **options) -> None:
        outbox.enqueue_on_commit(self, args or (), kwargs, options)
