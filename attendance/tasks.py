from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def register_saved_task(*, session_id: int, alert_guardians: bool = True) -> None:
    """One message per register save: the guardians' alerts (if saved within the window), then the live event.

    alert_guardians defaults to True so that messages queued before it existed behave as they did.
    """
    from attendance.services import register_saved

    register_saved(session_id=session_id, alert_guardians=alert_guardians)
