"""Thin adapters: take ids, call the service (imported inside, HackSoft style)."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def code_send_task(*, code_id: int) -> None:
    from accounts.services import code_deliver

    code_deliver(code_id=code_id)


@shared_task(acks_late=True, ignore_result=True)
def invitation_send_task(*, invitation_id: int) -> None:
    from accounts.services import invitation_deliver

    invitation_deliver(invitation_id=invitation_id)


@shared_task(ignore_result=True)
def purge_expired_task() -> dict:
    from accounts.services import purge_expired

    return purge_expired()
