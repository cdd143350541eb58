"""A person's data requests: export (a download in the admin, an emailed link when the
person asks) and erasure, each recorded as a DataRequest without personal data.
Views, commands and tasks call these."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from contacts import services as contact_services
from contacts.models import Activity, Contact
from contacts.tokens import Purpose, TokenData, make_token, read_token
from privacy import erasure, export, scrub
from privacy.models import DataExport, DataRequest

# A person asking again within this long gets the link already sent, not another archive.
EXPORT_REQUEST_INTERVAL = timedelta(hours=1)


def find_contact(email: str) -> Contact | None:
    return Contact.objects.filter(email=email.strip().lower()).first()


def export_archive(contact: Contact, *, channel: str, user=None) -> Iterator[bytes]:
    """The contact's archive in pieces; the request is recorded (audit and history) first."""
    with transaction.atomic():
        DataRequest.objects.create(
            kind=DataRequest.Kind.EXPORT,
            channel=channel,
            contact_id=contact.pk,
            requested_by=user,
            rows=export.row_counts(contact),
        )
        summary = f"Data exported ({DataRequest.Channel(channel).label})"
        contact_services.record(contact, Activity.Kind.EXPORTED, details={"summary": summary}, created_by=user)
    return export.archive_chunks(contact, settings.WAGTAIL_SITE_NAME)


def archive_name(contact: Contact) -> str:
    return f"contact-{contact.pk}-data-{timezone.now():%Y%m%d}.zip"


def request_export(contact: Contact) -> bool:
    """The person asked for their data: build it and email them a link, in the background.
    Returns False when a link sent within the hour still works (nothing new is sent)."""
    recent = DataExport.objects.filter(
        contact=contact, created_at__gte=timezone.now() - EXPORT_REQUEST_INTERVAL, expires_at__gt=timezone.now()
    )
    if recent.exists():
        return False
    enqueue_on_commit("privacy.tasks.send_data_export", contact.pk)
    return True


def store_export(contact: Contact) -> DataExport:
    """Write the person's archive to private storage, behind an expiring link."""
    expires_at = timezone.now() + timedelta(hours=settings.PRIVACY_EXPORT_LINK_HOURS)
    stored = DataExport(contact=contact, expires_at=expires_at)
    with tempfile.TemporaryFile() as spool:
        for chunk in export_archive(contact, channel=DataRequest.Channel.PERSON):
            spool.write(chunk)
        spool.seek(0)
        stored.file.save(archive_name(contact), File(spool), save=False)
    stored.save()
    return stored


def download_url(stored: DataExport) -> str:
    token = make_token(TokenData(Purpose.EXPORT, stored.contact_id, message_id=stored.pk))
    return settings.SITE_URL.rstrip("/") + reverse("privacy_download", args=[token])


def export_for_token(token: str) -> DataExport | None:
    """The export a download link names, if the link is genuine and has not expired."""
    data = read_token(token, Purpose.EXPORT)
    if data is None or data.message_id is None:
        return None
    return DataExport.objects.filter(
        pk=data.message_id, contact_id=data.contact_id, expires_at__gt=timezone.now()
    ).first()


def erase(contact: Contact, *, channel: str, user=None) -> DataRequest:
    """Erase the person: their buffered events, every database row (anonymised in place), the
    files naming them. The audit row counts what changed, per table, and nothing else."""
    address = contact.email
    buffered = scrub.scrub_event_buffer(contact.pk)
    with transaction.atomic():
        rows, files = erasure.anonymise(contact)
        audit = DataRequest.objects.create(
            kind=DataRequest.Kind.ERASE, channel=channel, contact_id=contact.pk, requested_by=user, rows=rows
        )
    for storage, name in files:
        storage.delete(name)
    changed_files = scrub.scrub_files(address)
    if buffered or changed_files:
        DataRequest.objects.filter(pk=audit.pk).update(rows={**rows, "redis:events": buffered, "files": changed_files})
    return audit
