"""Thin Celery wrappers around privacy.services and privacy.retention."""

from celery import shared_task

from campaigns.transactional import send_transactional
from contacts.models import Contact
from privacy import retention, services

EXPORT_SUBJECT = "Your data"
EXPORT_TEXT = """You asked for a copy of the data we hold about you. Download it here:

{url}

The link works until {expires:%-d %B %Y, %H:%M} UTC. If you did not ask for this, you can ignore this email."""


@shared_task
def send_data_export(contact_id: int) -> None:
    """Build the person's archive and email them the link to it, at once (not behind campaigns)."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return
    stored = services.store_export(contact)
    text = EXPORT_TEXT.format(url=services.download_url(stored), expires=stored.expires_at)
    send_transactional(contact.email, EXPORT_SUBJECT, text)


@shared_task
def apply_retention() -> dict[str, int]:
    return retention.apply_all()
