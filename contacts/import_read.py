"""Reading an import file: CSV (any common encoding and delimiter) or XLSX, streamed as
numbered rows of text cells, every size a hostile file could inflate bounded before it is read.

The first stage of every import (contacts/importer.py, and any importer of another row
type): ``open_table(path)`` gives the header and the rows; ``count_rows`` and ``preview_rows``
serve the progress bar and the mapping screen. A malformed CSV row comes through as one
cell starting with ``MALFORMED`` so the row is reported, not fatal.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import charset_normalizer
from django.conf import settings
from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

# Progress is reported at least this often, so a file of only bad rows still shows it moving.
PROGRESS_ROWS = 10_000
SAMPLE_BYTES = 64 * 1024
# A CSV line is read at most this much at a time; the csv module refuses longer fields anyway.
LINE_BYTES = 1024 * 1024
# Mapping screen: enough rows to recognise the columns, cells cut so a huge one cannot bloat the page.
PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 80
# Encodings we expect in the wild for contact sheets; guessing among fewer is more reliable.
CANDIDATE_ENCODINGS = ["gb18030", "big5", "shift_jis", "euc_kr", "cp1252", "utf_16"]
# First character of the one cell of a row the CSV reader could not parse (the rest is the reason).
MALFORMED = "\x00"


class ImportFileError(Exception):
    """The file as a whole cannot be imported (one-line reason)."""


@dataclass
class Table:
    header: list[str]
    rows: Generator[tuple[int, list[str]], None, None]
    # Data rows counted without parsing them (XLSX row elements), or None when only reading tells.
    counted_rows: int | None = None


def open_table(path: Path) -> Table:
    """Header and data rows of a CSV or XLSX file; rows are numbered as a spreadsheet shows them.

    Everything a hostile file could inflate is bounded before it is read: bytes, inflated
    XLSX parts, cell length, columns; rows are read streaming and counted by the caller.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    if path.stat().st_size > settings.CONTACTS_IMPORT_MAX_BYTES:
        raise ImportFileError(
            f"file too large: {path.stat().st_size} bytes (limit {settings.CONTACTS_IMPORT_MAX_BYTES})"
        )
    with path.open("rb") as handle:
        magic = handle.read(4)
    table = _open_xlsx(path) if magic == b"PK\x03\x04" else _open_csv(path)
    # Trailing blank header cells are padding (spreadsheets export them), not columns to map.
    while table.header and not table.header[-1].strip():
        table.header.pop()
    if not table.header:
        table.rows.close()
        raise ImportFileError("the file has no header row")
    return table


def too_many_rows(rows: int | str) -> ImportFileError:
    """The error for a file over CONTACTS_IMPORT_MAX_ROWS (``rows``: its count, or "more than N")."""
    limit = settings.CONTACTS_IMPORT_MAX_ROWS
    return ImportFileError(f"too many rows: {rows} (limit {limit}); split the file")


def _too_many_columns() -> ImportFileError:
    limit = settings.CONTACTS_IMPORT_MAX_COLUMNS
    return ImportFileError(f"too many columns: the header has more than {limit} (limit {limit})")


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # Incremental, so a sample cut inside a multi-byte character still counts as UTF-8.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(sample, cp_isolation=CANDIDATE_ENCODINGS).best()
    if best is None or "\x00" in str(best):
        raise ImportFileError("cannot read the file as text: unknown encoding or not a CSV/XLSX file")
    return best.encoding


def _open_csv(path: Path) -> Table:
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample)
    if "\x00" in sample.decode(encoding, errors="replace"):
        raise ImportFileError("cannot read the file as text: it contains NUL bytes")
    text_sample = sample.decode(encoding, errors="ignore")
    try:
        dialect: Any = csv.Sniffer().sniff("\n".join(text_sample.splitlines()[:20]), delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    handle = path.open("rb")
    lines = _decoded_lines(handle, encoding)
    reader = csv.reader(lines, delimiter=dialect.delimiter, quotechar='"', doublequote=True)
    try:
        header = next(reader, [])
    except (csv.Error, ImportFileError) as error:
        handle.close()
        raise ImportFileError(f"cannot read the header row: {error}") from None
    if len(header) > settings.CONTACTS_IMPORT_MAX_COLUMNS and any(
        cell.strip() for cell in header[settings.CONTACTS_IMPORT_MAX_COLUMNS :]
    ):
        handle.close()
        raise _too_many_columns()
    return Table(header[: settings.CONTACTS_IMPORT_MAX_COLUMNS], _csv_rows(reader, handle, len(header)))


def _decoded_lines(handle: BinaryIO, encoding: str) -> Iterator[str]:
    """Decode line by line, so an undecodable byte is reported at its own line number.

    A line longer than LINE_BYTES comes in pieces: memory stays bounded, and the csv module
    refuses the oversized field as a malformed row.
    """
    if encoding.replace("-", "_").lower().startswith("utf_16"):
        # Two-byte units: splitting on b"\n" would cut characters, so let the codec split.
        text = io.TextIOWrapper(handle, encoding=encoding, newline="")
        yield from iter(lambda: text.readline(LINE_BYTES // 2), "")
        return
    decoder = codecs.getincrementaldecoder(encoding)()
    for number, raw in enumerate(iter(lambda: handle.readline(LINE_BYTES), b""), start=1):
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError:
            raise ImportFileError(f"line {number} is not valid {encoding}: the file mixes encodings") from None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFileError(f"the file ends inside a character: not valid {encoding}") from None


def _csv_rows(reader: Any, handle: BinaryIO, width: int) -> Iterator[tuple[int, list[str]]]:
    """Rows of a CSV file; a malformed row is yielded as a marker cell so it is reported, not fatal."""
    with handle:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield reader.line_num, [f"{MALFORMED}malformed row: {error}"]
                continue
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                yield reader.line_num, [f"{MALFORMED}malformed row: {len(row)} fields, the header has {width}"]
                continue
            yield reader.line_num, row


class _UnsizedSheet(ReadOnlyWorksheet):
    """A read-only sheet that never reads its declared dimension.

    The dimension (A1:XFD1048576 in a 2 KB file) is a claim, not a size, so it is ignored;
    and finding it means parsing the whole sheet when a file leaves it out."""

    def _get_size(self) -> None:
        pass


class _FirstSheetReader(ExcelReader):
    """openpyxl's read-only workbook reader, opening only the first worksheet, unsized."""

    def read_worksheets(self) -> None:
        for sheet, rel in self.parser.find_sheets():
            if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                self.wb._sheets.append(_UnsizedSheet(self.wb, sheet.name, rel.target, self.shared_strings))
                return
        raise ImportFileError("the XLSX file has no worksheet")


def _open_xlsx(path: Path) -> Table:
    counted_rows = check_xlsx_parts(path)
    reader = None
    try:
        reader = _FirstSheetReader(path, read_only=True, data_only=True)
        reader.read()
    except Exception as error:  # openpyxl raises zipfile, KeyError and its own types for broken files
        if reader is not None:
            reader.archive.close()
        if isinstance(error, ImportFileError):
            raise
        raise ImportFileError(f"not a readable XLSX file: {error}") from None
    workbook, sheet = reader.wb, reader.wb.worksheets[0]
    limit = settings.CONTACTS_IMPORT_MAX_COLUMNS
    first = next(sheet.iter_rows(min_row=1, max_row=1, max_col=limit + 1, values_only=True), ())
    header = [_cell_text(value) for value in first]
    if len(header) > limit and header[limit]:
        workbook.close()
        raise _too_many_columns()
    header = header[:limit]
    width = max((index + 1 for index, cell in enumerate(header) if cell), default=1)
    rows = sheet.iter_rows(min_row=2, max_col=width, values_only=True)
    return Table(header, _xlsx_rows(workbook, rows), counted_rows=max(counted_rows - 1, 0))


def check_xlsx_parts(path: Path) -> int:
    """Refuse an XLSX whose parts inflate beyond the limits or hold a cell Excel could not have written.

    Sizes come from the zip directory, which also caps what zipfile will inflate; then every
    sheet and the shared strings (which openpyxl loads whole) are streamed once, looking for
    a text run longer than any legitimate cell (Excel's limit is 32,767 characters) and
    counting row elements. Returns the row count of the longest sheet: an upper bound of the
    rows openpyxl will read, known without parsing them, for progress and the row limit.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ImportFileError(f"not a readable XLSX file: {error}") from None
    rows = 0
    with archive:
        parts = archive.infolist()
        inflated = sum(part.file_size for part in parts)
        if inflated > settings.CONTACTS_IMPORT_MAX_INFLATED_BYTES:
            raise ImportFileError(
                f"the XLSX file inflates to {inflated} bytes (limit {settings.CONTACTS_IMPORT_MAX_INFLATED_BYTES})"
            )
        for part in parts:
            name = part.filename.lower()
            if name == "xl/sharedstrings.xml" and part.file_size > settings.CONTACTS_IMPORT_MAX_SHARED_STRINGS_BYTES:
                raise ImportFileError(
                    f"the XLSX file's text table inflates to {part.file_size} bytes "
                    f"(limit {settings.CONTACTS_IMPORT_MAX_SHARED_STRINGS_BYTES})"
                )
            if name == "xl/sharedstrings.xml":
                _check_text_runs(archive, part)
            elif name.startswith("xl/worksheets/"):
                rows = max(rows, _check_text_runs(archive, part))
    if rows - 1 > settings.CONTACTS_IMPORT_MAX_ROWS:
        raise too_many_rows(rows - 1)
    return rows


def _check_text_runs(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> int:
    """Stream one XML part, refuse it if any run between two tags is longer than a cell may be;
    returns how many row elements it has (a tag cut by a chunk boundary may be missed: it is a bound)."""
    # Escaped as entities, one character can take up to 8 bytes (&#x10FFFF;): bound the bytes generously.
    limit = settings.CONTACTS_IMPORT_MAX_CELL_CHARS * 8
    run = rows = 0
    try:
        with archive.open(part) as stream:
            for chunk in iter(lambda: stream.read(1024 * 1024), b""):
                first = min((i for i in (chunk.find(b"<"), chunk.find(b">")) if i >= 0), default=len(chunk))
                last = max(chunk.rfind(b"<"), chunk.rfind(b">"))
                if run + first > limit or (last >= 0 and _has_long_run(chunk, limit)):
                    raise ImportFileError(
                        f"the XLSX file has a cell longer than {settings.CONTACTS_IMPORT_MAX_CELL_CHARS} characters"
                    )
                run = run + len(chunk) if last < 0 else len(chunk) - last - 1
                # Opening tags only: <row ...> and prefixed <x:row ...>, never </row>.
                rows += chunk.count(b"<row") + chunk.count(b":row ")
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
        raise ImportFileError(f"not a readable XLSX file: {error}") from None
    return rows


def _has_long_run(chunk: bytes, limit: int) -> bool:
    """Whether ``chunk`` has more than ``limit`` bytes in a row without a < or >.

    Such a run covers a whole aligned block of half its length, so blocks are probed with
    two memchr-fast finds each and the exact (slower) search runs only on a suspect chunk."""
    block = limit // 2
    for start in range(0, len(chunk) - block + 1, block):
        if chunk.find(b"<", start, start + block) < 0 and chunk.find(b">", start, start + block) < 0:
            return re.search(rb"[<>][^<>]{%d}" % limit, chunk) is not None
    return False


def _xlsx_rows(workbook: Any, rows: Iterator[tuple]) -> Iterator[tuple[int, list[str]]]:
    try:
        for number, values in enumerate(rows, start=2):
            yield number, [_cell_text(value) for value in values]
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def count_rows(path: Path, on_progress: Callable[[int], None] | None = None) -> int:
    """How many data rows the file has, for the progress bar; refuses a file over the row limit.

    An XLSX is counted from its row elements without parsing them; a CSV is read through,
    reporting the count as it goes so the progress page moves during a long count."""
    table = open_table(path)
    with contextlib.closing(table.rows):
        if table.counted_rows is not None:
            return table.counted_rows
        rows = 0
        for rows, _ in enumerate(table.rows, start=1):
            if rows > settings.CONTACTS_IMPORT_MAX_ROWS:
                raise too_many_rows(f"more than {settings.CONTACTS_IMPORT_MAX_ROWS}")
            if on_progress and rows % PROGRESS_ROWS == 0:
                on_progress(rows)
        return rows


def preview_rows(path: Path, limit: int = PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    """The header and first rows of a file, for the mapping screen, long cells cut short."""
    table = open_table(path)
    with contextlib.closing(table.rows):
        rows = [[shorten(cell) for cell in cells] for _, cells in itertools.islice(table.rows, limit)]
    return table.header, rows


def shorten(text: str) -> str:
    """A cell cut to PREVIEW_CELL_CHARS, for pages that show what a file holds."""
    return text if len(text) <= PREVIEW_CELL_CHARS else text[: PREVIEW_CELL_CHARS - 1] + "…"
