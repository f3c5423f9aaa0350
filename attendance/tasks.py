from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def register_saved_task(*, session_id: int) -> None:
    """One message per register save: the guardians' alerts, then the live event for open pages."""
    from attendance.services import register_saved

    register_saved(session_id=session_id)
