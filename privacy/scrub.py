"""Erasure outside the database: files (uploaded imports and their error reports, media,
logs) and the Redis event buffer.

A text file that names the person loses the lines that do (a CSV row is one person; a log
line one event); an XLSX loses the rows. Files are rewritten in place, so jobs and documents
that point at them keep working.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path

import redis
from django.conf import settings
from openpyxl import load_workbook

from config.redis import client as redis_client
from tracking import buffer
from tracking.events import TrackedEvent

TEXT_SUFFIXES = {"", ".csv", ".tsv", ".txt", ".json", ".log"}
XLSX = ".xlsx"
SCAN_PAGE = 1000


def file_roots() -> list[Path]:
    """Where Rapport writes files that may name a person: private uploads, media, logs."""
    roots = [Path(settings.IMPORT_UPLOAD_ROOT), Path(settings.MEDIA_ROOT), *settings.PRIVACY_LOG_DIRS]
    return [root for root in roots if root.is_dir()]


def scrub_files(address: str, roots: Iterable[Path] | None = None) -> int:
    """Remove every line (text) or row (XLSX) naming ``address``; returns how many files changed."""
    changed = 0
    for root in file_roots() if roots is None else roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            suffix = path.suffix.lower()
            if suffix in TEXT_SUFFIXES:
                changed += _scrub_text(path, address)
            elif suffix == XLSX:
                changed += _scrub_xlsx(path, address)
    return changed


def _scrub_text(path: Path, address: str) -> bool:
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
        if address not in text.lower():
            return False
        kept = [line for line in text.splitlines(keepends=True) if address not in line.lower()]
        path.write_bytes("".join(kept).encode("utf-16"))
        return True
    # Any encoding an import accepts other than UTF-16 writes an ASCII address as ASCII bytes.
    needle = address.encode("utf-8")
    if needle not in data.lower():
        return False
    kept = [line for line in data.splitlines(keepends=True) if needle not in line.lower()]
    path.write_bytes(b"".join(kept))
    return True


def _scrub_xlsx(path: Path, address: str) -> bool:
    if not _xlsx_mentions(path, address):
        return False
    workbook = load_workbook(path)
    for sheet in workbook.worksheets:
        doomed = [
            row[0].row
            for row in sheet.iter_rows()
            if any(address in str(cell.value).lower() for cell in row if cell.value is not None)
        ]
        for number in reversed(doomed):
            sheet.delete_rows(number)
    workbook.save(path)
    return True


def _xlsx_mentions(path: Path, address: str) -> bool:
    """Whether any part of the workbook holds the address (cheap: no workbook is parsed)."""
    needle = address.encode("utf-8")
    with contextlib.suppress(zipfile.BadZipFile, OSError), zipfile.ZipFile(path) as archive:
        return any(needle in archive.read(part).lower() for part in archive.namelist() if part.endswith(".xml"))
    return False


def scrub_event_buffer(contact_id: int) -> int:
    """Drop the contact's events still waiting in the Redis stream (they carry a user agent and
    an IP hash); returns how many. Without Redis there is nothing buffered to drop."""
    try:
        conn = redis_client()
        doomed, start = [], "-"
        while True:
            entries = conn.xrange(buffer.STREAM, min=start, max="+", count=SCAN_PAGE)
            for entry_id, fields in entries:
                if fields and TrackedEvent.from_wire(json.loads(fields[b"e"])).contact_id == contact_id:
                    doomed.append(entry_id.decode())
            if len(entries) < SCAN_PAGE:
                break
            start = "(" + entries[-1][0].decode()
        buffer.ack(doomed)
    except redis.RedisError:
        return 0
    return len(doomed)
