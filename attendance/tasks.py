from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def attendance_alerts_task(*, session_id: int) -> None:
    from attendance.services import attendance_alerts

    attendance_alerts(session_id=session_id)
