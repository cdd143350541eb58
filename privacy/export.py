"""A person's data as one zip archive, streamed: every table that holds rows about the
contact (found by privacy.relations) as JSON and as CSV, plus their profile, consents and
notes gathered in one place. CSV cells go through the contacts exporter's formula guard, so
nothing the person (or anyone) typed runs as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

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
BATCH_ROWS = 1000
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
        with archive.open("README.txt", "w") as member:
            member.write(README.format(site=site_name, date=date.today().isoformat()).encode())
        for name, header, rows in tables(contact):
            yield from _table(archive, pipe, name, header, rows)
    yield pipe.take()


def _table(archive: zipfile.ZipFile, pipe: _Pipe, name: str, header: list[str], rows: Iterator) -> Iterator[bytes]:
    """One table as name.json and name.csv, reading its rows once: the JSON goes straight into
    the archive while the CSV is spooled to a temporary file, then copied in."""
    with tempfile.TemporaryFile() as spool:
        csv_out = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
        writer = csv.writer(csv_out)
        writer.writerow(header)
        with archive.open(f"{name}.json", "w", force_zip64=True) as member:
            member.write(b"[")
            separator = b"\n"
            # A batch of rows per encoder call and per write: per-row calls cost more than the rows.
            while batch := list(itertools.islice(rows, BATCH_ROWS)):
                records = json.dumps(
                    [dict(zip(header, row, strict=True)) for row in batch], default=_json_default, ensure_ascii=False
                )
                member.write(separator + records[1:-1].encode())
                separator = b",\n"
                writer.writerows([_cell(value) for value in row] for row in batch)
                if len(pipe.buffer) >= FLUSH_BYTES:
                    yield pipe.take()
            member.write(b"\n]\n")
        yield pipe.take()
        csv_out.flush()
        spool.seek(0)
        with archive.open(f"{name}.csv", "w", force_zip64=True) as member:
            while block := spool.read(FLUSH_BYTES):
                member.write(block)
                yield pipe.take()
        csv_out.detach()


def row_counts(contact: Contact) -> dict[str, int]:
    """Rows per exported table, for the audit record."""
    return {
        relation.label: relation.rows(contact.pk).count()
        for relation in contact_relations()
        if relation.label not in NOT_EXPORTED | FOLDED
    }


def tables(contact: Contact) -> Iterator[tuple[str, list[str], Iterator[tuple | list]]]:
    """(file name, header, rows) of every table in the archive."""
    profile = _profile(contact)
    yield "profile", list(profile), iter([list(profile.values())])
    yield "consents", ["what", "at", "how", "ip", "form"], iter(_consents(contact))
    yield "notes", ["written_at", "text"], _notes(contact)
    for relation in contact_relations():
        if relation.label in NOT_EXPORTED | FOLDED:
            continue
        columns = [*exported_fields(relation.model), *EXTRA_COLUMNS.get(relation.label, [])]
        yield (
            FILE_NAMES.get(relation.label, relation.label.replace(".", "_")),
            columns,
            _rows(relation, contact, columns),
        )


def _rows(relation: Relation, contact: Contact, columns: list[str]) -> Iterator[tuple]:
    return iter(relation.rows(contact.pk).values_list(*columns).iterator(chunk_size=CHUNK_SIZE))


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


def _json_default(value: Any) -> Any:
    """JSON for what the json module does not know: times, decimals, bytes, addresses."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return str(value)


def _cell(value: Any) -> Any:
    """A CSV cell: plain text, no formula (contacts.exporter.neutralise), JSON for structures."""
    if value is None:
        return ""
    if isinstance(value, (str, datetime)):
        return neutralise(value)
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (dict, list)):
        return neutralise(json.dumps(value, default=_json_default, ensure_ascii=False))
    return neutralise(_json_default(value))
