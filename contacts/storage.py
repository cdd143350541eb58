"""Private storage for uploaded contact files: outside MEDIA_ROOT, random names, no URL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils import timezone
from django.utils.deconstruct import deconstructible

IMPORT_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx")


@deconstructible
class PrivateUploadStorage(FileSystemStorage):
    """Files under IMPORT_UPLOAD_ROOT, which no URL maps to; read them only through a view that checks permissions."""

    def __init__(self) -> None:
        super().__init__(directory_permissions_mode=0o700, file_permissions_mode=0o600)

    @property
    def base_location(self) -> str:
        # Read on every use, not cached, so a changed setting (tests, a moved data directory) applies at once.
        return str(settings.IMPORT_UPLOAD_ROOT)

    @property
    def location(self) -> str:
        return str(Path(self.base_location).resolve())

    def url(self, name: str | None) -> str:
        raise ValueError("private uploads have no URL")


def import_upload_path(instance: Any, filename: str) -> str:
    """A random name keeping only a known extension: the uploader's name is kept on the job, never on disk."""
    extension = Path(filename).suffix.lower()
    return f"imports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{extension if extension in IMPORT_EXTENSIONS else ''}"
