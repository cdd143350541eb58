"""A person's data as one zip archive, streamed: every table that holds rows about the
contact (found by privacy.relations) as JSON and as CSV, plus their profile, consents and
notes gathered in one place. CSV cells go through the contacts exporter's formula guard, so
nothing the person (or anyone) typed runs as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from contacts.exporter import CHUNK_SIZE, neutralise
from contacts.models import Activity, Contact
from privacy.relations import NOT_EXPORTED, Relation, contact_relations, exported_fields

# Friendly file names for the tables a person recognises; the others are <app>_<model>.
FILE_NAMES = {
    "contacts.activity": "history",
    "contacts.activitytally": "history_summary",
    "contacts.subscription": "subscriptions",
    "campaigns.message": "messages",
    "sales.task": "tasks",
}
# Columns from related tables that make a row readable (a list's name, not only its id).
EXTRA_COLUMNS = {
    "contacts.subscription": ["mailing_list__name"],
    "campaigns.message": ["campaign__name", "campaign__subject"],
}
# Folded into the profile (tags) rather than listed as a table of their own.
FOLDED = {"contacts.taggedcontact"}
CONSENT_FIELDS = ["consent_at", "consent_method", "consent_ip", "consent_form", "confirmed_at"]
FLUSH_BYTES = 256 * 1024
README = """Your data, as {site} holds it on {date}.

Each table comes twice: as JSON (for programs) and as CSV (for spreadsheets).
profile      who you are to us: your profile, tags and custom fields
consents     when and how you agreed to hear from us, list by list
subscriptions  the lists you are on
history      everything that happened: emails sent, opens, clicks, changes
messages     every email we sent you
notes        notes our staff wrote about you
tasks        follow-ups our staff planned with you (when any)
Other files hold the rows of other tables that name you.
"""


class _Pipe(io.RawIOBase):
    """A write-only, unseekable stream that hands what was written to a generator."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def archive_chunks(contact: Contact, site_name: str = "Rapport") -> Iterator[bytes]:
    """The zip archive of ``contact``'s data, in pieces (zip64 data descriptors: no seeking,
    so memory stays flat whatever the history's length)."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, lines in members(contact, site_name):
            with archive.open(name, "w", force_zip64=True) as member:
                for line in lines:
                    member.write(line.encode())
                    if len(pipe.buffer) >= FLUSH_BYTES:
                        yield pipe.take()
            yield pipe.take()
    yield pipe.take()


def row_counts(contact: Contact) -> dict[str, int]:
    """Rows per exported table, for the audit record."""
    return {
        relation.label: relation.rows(contact.pk).count()
        for relation in contact_relations()
        if relation.label not in NOT_EXPORTED | FOLDED
    }


def members(contact: Contact, site_name: str) -> Iterator[tuple[str, Iterable[str]]]:
    """(file name, text lines) of every file in the archive."""
    yield "README.txt", [README.format(site=site_name, date=date.today().isoformat())]
    profile = _profile(contact)
    yield from _both("profile", list(profile), lambda: [list(profile.values())])
    consents = _consents(contact)
    yield from _both("consents", ["what", "at", "how", "ip", "form"], lambda: consents)
    yield from _both("notes", ["written_at", "text"], lambda: _notes(contact))
    for relation in contact_relations():
        if relation.label in NOT_EXPORTED | FOLDED:
            continue
        columns = [*exported_fields(relation.model), *EXTRA_COLUMNS.get(relation.label, [])]
        name = FILE_NAMES.get(relation.label, relation.label.replace(".", "_"))
        yield from _both(name, columns, lambda relation=relation, columns=columns: _rows(relation, contact, columns))


def _both(name: str, header: list[str], rows: Any) -> Iterator[tuple[str, Iterable[str]]]:
    """One table as name.json and name.csv; ``rows`` is called once per file: read twice, never held."""
    yield f"{name}.json", _json_lines(header, rows())
    yield f"{name}.csv", _csv_lines(header, rows())


def _rows(relation: Relation, contact: Contact, columns: list[str]) -> Iterator[tuple]:
    return relation.rows(contact.pk).values_list(*columns).iterator(chunk_size=CHUNK_SIZE)


def _profile(contact: Contact) -> dict[str, Any]:
    values = {name: getattr(contact, name) for name in exported_fields(Contact)}
    values["tags"] = ", ".join(sorted(contact.tags.names()))
    return values


def _consents(contact: Contact) -> list[list[Any]]:
    rows = [["contact", contact.consent_at, contact.consent_method, contact.consent_ip, contact.consent_form]]
    if contact.confirmed_at:
        rows.append(["double opt-in confirmed", contact.confirmed_at, "", "", ""])
    for name, status, created, confirmed in contact.subscriptions.order_by("created_at").values_list(
        "mailing_list__name", "status", "created_at", "confirmed_at"
    ):
        rows.append([f"list {name}: {status}", confirmed or created, "confirmed" if confirmed else "", "", ""])
    return rows


def _notes(contact: Contact) -> Iterator[list[Any]]:
    if contact.notes:
        yield ["(profile)", contact.notes]
    notes = Activity.objects.filter(contact=contact, kind=Activity.Kind.NOTE).order_by("occurred_at")
    for occurred_at, details in notes.values_list("occurred_at", "details").iterator(chunk_size=CHUNK_SIZE):
        yield [occurred_at, (details or {}).get("text", "")]


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


def _json_lines(header: list[str], rows: Iterable[Any]) -> Iterator[str]:
    yield "["
    separator = "\n"
    for row in rows:
        record = {column: _plain(value) for column, value in zip(header, row, strict=True)}
        yield separator + json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


def _cell(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return neutralise("" if value is None else value)


def _csv_lines(header: list[str], rows: Iterable[Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for number, row in enumerate(rows):
        writer.writerow([_cell(value) for value in row])
        if number % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
