"""The record of people's data requests, and the exports waiting behind an emailed link."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from contacts.models import Contact
from contacts.storage import PrivateUploadStorage


def export_upload_path(instance: "DataExport", filename: str) -> str:
    return f"exports/{timezone.now():%Y/%m}/{filename}"


class DataRequest(models.Model):
    """Audit row of one export or erasure. It holds no personal data: the contact is a plain
    id (of a row that is anonymised after an erasure), and ``rows`` counts rows per table."""

    class Kind(models.TextChoices):
        EXPORT = "export"
        ERASE = "erase", "erasure"

    class Channel(models.TextChoices):
        ADMIN = "admin"
        COMMAND = "command"
        PERSON = "person", "the person (preference centre)"

    kind = models.CharField(max_length=6, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    contact_id = models.BigIntegerField(db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows = models.JSONField(default=dict, blank=True, help_text="Rows exported or anonymised, per table.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("export_person_data", "Can export a person's data"),
            ("erase_person_data", "Can erase a person's data"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of contact #{self.contact_id} ({self.get_channel_display()})"


class DataExport(models.Model):
    """An export the person asked for, kept in private storage until its link expires."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    file = models.FileField(upload_to=export_upload_path, storage=PrivateUploadStorage(), max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.pk} of contact #{self.contact_id}"
