"""Thin adapters for the daily recommendation job: take ids, call the service (imported inside).

The beat entry runs `recommendations_run_task` once a day; it queues one task per institute, which splits
that institute's active students into chunks and queues one `recommendations_chunk_task` per chunk as a
Celery group, so any number of workers share the work. A chunk is idempotent (dedupe window plus a unique
row per student, reason and day), so a re-delivered message writes nothing twice.
"""

import datetime

from celery import shared_task
from django.db import OperationalError


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


@shared_task(ignore_result=True)
def recommendations_run_task(*, today: str | None = None) -> int:
    from ai_features.services import recommendations_run

    return recommendations_run(today=_date(today))


@shared_task(acks_late=True, ignore_result=True)
def recommendations_institute_task(*, institute_id: int, today: str) -> int:
    from ai_features.services import recommendations_fan_out

    return recommendations_fan_out(institute_id=institute_id, today=_date(today))


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),  # a lock timeout or a dropped connection: worth another go
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=240,  # a provider phrasing the texts may be slow; it stops phrasing well before this
    time_limit=300,
)
def recommendations_chunk_task(*, institute_id: int, student_ids: list[int], today: str) -> int:
    from ai_features.services import recommendations_for_chunk

    return len(recommendations_for_chunk(institute_id=institute_id, student_ids=student_ids, today=_date(today)))
