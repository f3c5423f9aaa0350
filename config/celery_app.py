"""The Celery app. Tasks subclass utils.celery_task.CampusTask, so services enqueue with `delay_on_commit`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("campus", task_cls="utils.celery_task:CampusTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
