"""Thin Celery wrappers. The emails go on the transactional queue, whose worker no campaign
batch ever occupies."""

from celery import shared_task

from signups import mail


@shared_task
def send_confirmation(pending_id: int) -> str:
    return mail.send_confirmation(pending_id)


@shared_task
def send_welcome(contact_id: int, welcome_id: int) -> None:
    mail.send_welcome(contact_id, welcome_id)


@shared_task
def purge_pending() -> int:
    return mail.purge_expired()
