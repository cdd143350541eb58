"""The ImportJob model (registered through contacts/models.py, which imports it)."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from contacts.storage import PrivateUploadStorage, import_upload_path


class ImportJob(models.Model):
    """One upload of contacts, mapped column by column, run in the background (see contacts/importer.py)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "awaiting column mapping"
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    # Private storage under random names: the file holds personal data and is never served.
    file = models.FileField(upload_to=import_upload_path, storage=PrivateUploadStorage(), max_length=200)
    original_name = models.CharField(max_length=255, blank=True)
    mailing_list = models.ForeignKey(
        "contacts.MailingList", null=True, blank=True, on_delete=models.SET_NULL, related_name="import_jobs"
    )
    # Column header -> target field ("email", "first_name", "custom.<key>", "tags"); unmapped columns are ignored.
    mapping = models.JSONField(default=dict, blank=True)
    check_dns = models.BooleanField(default=True, help_text="Check each domain's mail servers (slower).")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT, db_index=True)
    rows_total = models.PositiveIntegerField(default=0, help_text="Counted before the import starts, for progress.")
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(
        default=0, help_text="Blank rows, repeats inside the file, unchanged contacts."
    )
    duplicates = models.PositiveIntegerField(default=0, help_text="Skipped: the address appears earlier in the file.")
    unchanged = models.PositiveIntegerField(
        default=0, help_text="Skipped: the contact exists and the row changes nothing."
    )
    errors = models.JSONField(
        default=list, blank=True, help_text="The first [{row, email, reason}] (CONTACTS_IMPORT_KEPT_ERRORS)."
    )
    error_count = models.PositiveIntegerField(default=0, help_text="Every refused row, kept or not.")
    error_report = models.FileField(
        upload_to=import_upload_path, storage=PrivateUploadStorage(), max_length=200, blank=True, editable=False
    )
    failure = models.TextField(blank=True, help_text="Why the whole import stopped, if it did.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name or self.file.name

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        # The upload and its error report hold personal data: they go with the job.
        files = [field for field in (self.file, self.error_report) if field]
        result = super().delete(*args, **kwargs)
        for field in files:
            field.delete(save=False)
        return result
