"""The import pipeline, for any row type: read -> map -> parse -> write, counted in one summary.

An importer supplies three things and calls :func:`run`:

- a column mapping (``{column header: target}``), guessed with :func:`guess_mapping` from
  its own aliases or chosen on the mapping screen;
- a parser (:class:`RowParser`): ``parse(number, cells)`` returns an item, None for a blank
  row, or raises :class:`RowError`; ``label(cells)`` names the row in an error report;
- a writer (:class:`ChunkWriter`): ``write({key: item})`` writes one chunk in one transaction
  and returns the keys that already existed and those of them the chunk left unchanged.

Items carry a ``key`` (the contact's email; a deal's reference): a key repeated in the file
is merged into its first occurrence (``merge``) and counted as a duplicate. Every row ends
up counted once: ``created + updated + skipped + error_count == rows``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from django.conf import settings

from contacts.exporter import neutralise
from contacts.import_read import PROGRESS_ROWS, ImportFileError, Table, too_many_rows

CHUNK_SIZE = 2000


class RowError(ValueError):
    """One row cannot be imported; the message is the reason shown in the error report."""


@dataclass
class ImportSummary:
    """Counts of one import. ``skipped`` = blank rows + ``duplicates`` (repeats inside the file)
    + ``unchanged`` (existing rows the file changes nothing in). Only the first
    CONTACTS_IMPORT_KEPT_ERRORS errors are kept; ``error_count`` counts them all, and
    ``report`` (a csv writer), when given, receives every one."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    duplicates: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    report: Any = None

    def error(self, row: int, email: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < settings.CONTACTS_IMPORT_KEPT_ERRORS:
            self.errors.append({"row": row, "email": email, "reason": reason})
        if self.report is not None:
            self.report.writerow([row, neutralise(email), neutralise(reason)])

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": self.errors,
            "duplicates": self.duplicates,
            "unchanged": self.unchanged,
            "error_count": self.error_count,
        }

    def as_lines(self, where_the_rest_are: str = "") -> list[str]:
        """The summary as a command prints it: the counts, then each kept error by row number."""
        lines = [
            f"{self.rows} rows: {self.created} created, {self.updated} updated, {self.skipped} skipped "
            f"({self.unchanged} unchanged, {self.duplicates} repeated in the file), {self.error_count} errors"
        ]
        lines += [f"  row {error['row']}: {error['email'] or '-'}: {error['reason']}" for error in self.errors]
        if self.error_count > len(self.errors):
            lines.append(f"  ... and {self.error_count - len(self.errors)} more{where_the_rest_are}")
        return lines


class Item(Protocol):
    key: str
    # The row's number in the file, as a spreadsheet shows it.
    row: int
    # A repeat of a key written by an earlier chunk: it only fills in fields, it is not counted again.
    repeat: bool

    def merge(self, later: Any) -> None: ...


ItemT = TypeVar("ItemT", bound=Item)


class RowParser(Protocol[ItemT]):
    def parse(self, number: int, cells: list[str]) -> ItemT | None: ...

    def label(self, cells: list[str]) -> str: ...


class ChunkWriter(Protocol[ItemT]):
    def write(self, pending: dict[str, ItemT]) -> tuple[set[str], set[str]]: ...

    def refused(self, pending: dict[str, ItemT]) -> dict[str, str]:
        """``{key: reason}`` of the rows that must not be written at all (reported as errors)."""
        return {}


def header_key(header: str) -> str:
    """A column header reduced for matching: lower case, runs of spaces/dashes/dots as one ``_``."""
    return re.sub(r"[\s\-_.]+", "_", header.strip().lower()).strip("_")


def guess_mapping(header: Iterable[str], aliases: dict[str, set[str]]) -> dict[str, str]:
    """``{column: target}`` for the columns whose :func:`header_key` is one of a target's aliases;
    the first column wins a target."""
    mapping: dict[str, str] = {}
    for column in header:
        key = header_key(column)
        target = next((name for name, names in aliases.items() if key in names), None)
        if target and target not in mapping.values():
            mapping[column] = target
    return mapping


def column_positions(header: list[str], mapping: dict[str, str], required: str) -> dict[str, int]:
    """``{target: column index}`` of the mapped columns; ImportFileError when ``required`` is not mapped."""
    positions = {target: header.index(column) for column, target in mapping.items() if column in header}
    if required not in positions:
        raise ImportFileError(
            f"no {required} column: name one '{required}' (or map a column to {required}); columns: "
            + ", ".join(header)
        )
    return positions


def run(
    table: Table,
    parser: RowParser[ItemT],
    writer: ChunkWriter[ItemT],
    summary: ImportSummary,
    *,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Parse every row of ``table`` and write them chunk by chunk, counting each in ``summary``.

    A file longer than CONTACTS_IMPORT_MAX_ROWS stops there with an ImportFileError (the rows
    before it are written)."""
    chunk = _Chunk(writer, summary, on_progress)
    with contextlib.closing(table.rows):
        for number, cells in table.rows:
            summary.rows += 1
            if summary.rows > settings.CONTACTS_IMPORT_MAX_ROWS:
                chunk.flush()
                raise too_many_rows(f"more than {settings.CONTACTS_IMPORT_MAX_ROWS}")
            chunk.take(parser, number, cells)
            if len(chunk.pending) >= chunk_size or summary.rows % PROGRESS_ROWS == 0:
                chunk.flush()
    chunk.flush()
    return summary


class _Chunk:
    """The rows parsed since the last write, and the keys seen in the whole file."""

    def __init__(self, writer: ChunkWriter, summary: ImportSummary, on_progress) -> None:
        self.writer, self.summary, self.on_progress = writer, summary, on_progress
        self.seen: set[str] = set()
        self.pending: dict[str, Any] = {}

    def take(self, parser: RowParser, number: int, cells: list[str]) -> None:
        summary, pending = self.summary, self.pending
        try:
            item = parser.parse(number, cells)
        except RowError as error:
            summary.error(number, parser.label(cells), str(error))
            return
        if item is None:
            summary.skipped += 1
        elif item.key in self.seen:
            summary.skipped += 1
            summary.duplicates += 1
            if item.key in pending:
                pending[item.key].merge(item)
            else:
                item.repeat = True
                pending[item.key] = item
        else:
            self.seen.add(item.key)
            pending[item.key] = item

    def flush(self) -> None:
        summary = self.summary
        for key, reason in self.writer.refused(self.pending).items():
            item = self.pending.pop(key)
            if not item.repeat:
                summary.error(item.row, "", reason)
        if self.pending:
            existing, unchanged = self.writer.write(self.pending)
            for key, item in self.pending.items():
                if item.repeat:
                    continue
                if key in unchanged:
                    summary.skipped += 1
                    summary.unchanged += 1
                elif key in existing:
                    summary.updated += 1
                else:
                    summary.created += 1
            self.pending.clear()
        if self.on_progress:
            self.on_progress(summary)
