from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def announcement_fan_out_task(*, announcement_id: int) -> None:
    from announcements.services import announcement_fan_out

    announcement_fan_out(announcement_id=announcement_id)


@shared_task(ignore_result=True)
def announcements_publish_due_task() -> int:
    from announcements.services import announcements_publish_due

    return announcements_publish_due()
