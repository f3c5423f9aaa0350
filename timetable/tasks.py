from celery import shared_task


# A generation may run for up to 10 minutes; the task's own limits sit above the solver's.
@shared_task(acks_late=True, ignore_result=True, time_limit=900, soft_time_limit=840)
def suggestion_generate_task(*, suggestion_id: int) -> None:
    from timetable.generation import suggestion_generate

    suggestion_generate(suggestion_id=suggestion_id)
