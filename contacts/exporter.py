"""Export contacts (a list, a segment, any queryset) to CSV or XLSX, streamed in chunks.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and tab or
carriage return) as a formula, so such text cells are prefixed with an apostrophe
(OWASP "CSV injection"): a contact cannot plant a formula in a marketer's spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from openpyxl import Workbook

from contacts.models import Contact, CustomField, TaggedContact

CHUNK_SIZE = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
STANDARD_FIELDS = [
    "email",
    *Contact.PROFILE_FIELDS,
    "grade",
    "source",
    "status",
    "standing",
    "verification",
    "engagement_score",
    "last_engaged_at",
    "created_at",
]


class ExportError(ValueError):
    pass


def field_choices() -> list[tuple[str, str]]:
    """Everything that can be exported: profile fields, tags, custom fields."""
    standard = [(name, str(Contact._meta.get_field(name).verbose_name)) for name in STANDARD_FIELDS]
    custom = [(f"custom.{key}", f"custom: {label}") for key, label in CustomField.objects.values_list("key", "label")]
    return [*standard, ("tags", "tags"), *custom]


def neutralise(value: Any) -> Any:
    """A cell value that no spreadsheet will evaluate as a formula."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def rows(queryset: QuerySet[Contact], fields: list[str]) -> Iterator[list[Any]]:
    """The header, then one neutralised row per contact, reading the table in chunks."""
    allowed = {name for name, _ in field_choices()}
    unknown = [name for name in fields if name not in allowed]
    if unknown or not fields:
        raise ExportError(f"unknown export fields: {', '.join(unknown) or '(none chosen)'}")
    columns = [name for name in fields if name in STANDARD_FIELDS]
    yield list(fields)
    chunk: list[dict[str, Any]] = []
    values = queryset.order_by("pk").values("pk", "custom_fields", *columns)
    for contact in values.iterator(chunk_size=CHUNK_SIZE):
        chunk.append(contact)
        if len(chunk) == CHUNK_SIZE:
            yield from _chunk_rows(chunk, fields)
            chunk = []
    yield from _chunk_rows(chunk, fields)


def _chunk_rows(chunk: list[dict[str, Any]], fields: list[str]) -> Iterator[list[Any]]:
    tags: dict[int, list[str]] = defaultdict(list)
    if "tags" in fields and chunk:
        pairs = TaggedContact.objects.filter(content_object_id__in=[contact["pk"] for contact in chunk])
        for contact_id, name in pairs.values_list("content_object_id", "tag__name").order_by("tag__name"):
            tags[contact_id].append(name)
    for contact in chunk:
        yield [neutralise(_value(contact, name, tags)) for name in fields]


def _value(contact: dict[str, Any], name: str, tags: dict[int, list[str]]) -> Any:
    if name == "tags":
        return ", ".join(tags.get(contact["pk"], []))
    if name.startswith("custom."):
        value = (contact["custom_fields"] or {}).get(name.removeprefix("custom."), "")
        return value if isinstance(value, (int, float, str)) else str(value)
    return contact[name]


def csv_chunks(queryset: QuerySet[Contact], fields: list[str]) -> Iterator[str]:
    """CSV text in pieces, for a streaming HTTP response. UTF-8 with BOM so Excel reads it right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    for number, row in enumerate(rows(queryset, fields)):
        writer.writerow(row)
        if number % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(queryset: QuerySet[Contact], fields: list[str], path: Path) -> Path:
    """An XLSX file written row by row (openpyxl write-only mode keeps memory flat)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")
    for row in rows(queryset, fields):
        sheet.append(row)
    workbook.save(path)
    return path
