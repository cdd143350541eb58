"""Contact import from CSV (any common encoding and delimiter) or XLSX, streamed in chunks.

Each chunk is validated in Python (one DNS lookup per domain per run), merged with the
contacts that already exist, and written with one upsert keyed on the normalised email, so
an import re-run after a crash updates what the first run wrote instead of duplicating it.
Duplicates inside the file are merged into the first occurrence (later non-empty cells
win). Status is never written by an import: unsubscribed, bounced or suppressed contacts
keep their status and are not added to the list.

Every row ends up counted once: ``created + updated + skipped + len(errors) == rows``
(blank rows and in-file duplicates are ``skipped``).
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
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import charset_normalizer
import psycopg
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from taggit.models import Tag

from contacts.erased import erased_among
from contacts.exporter import neutralise
from contacts.models import Activity, Contact, CustomField, ImportJob, MailingList, TaggedContact
from contacts.services import subscribe_many
from contacts.validation import DomainChecker, DomainStatus, validate_address

CHUNK_SIZE = 2000
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

PROFILE_FIELDS = [*Contact.PROFILE_FIELDS, "grade"]
HEADER_ALIASES = {
    "email": {"email", "e_mail", "email_address", "mail", "邮箱", "电子邮件", "邮件地址"},
    "first_name": {"first_name", "firstname", "given_name", "forename", "名"},
    "last_name": {"last_name", "lastname", "surname", "family_name", "姓"},
    "company": {"company", "company_name", "organization", "organisation", "公司"},
    "job_title": {"job_title", "title", "position", "职位"},
    "phone": {"phone", "phone_number", "telephone", "mobile", "电话", "手机"},
    "industry": {"industry", "行业"},
    "region": {"region", "province", "state", "省份", "地区"},
    "city": {"city", "城市"},
    "country": {"country", "国家"},
    "language": {"language", "lang", "语言"},
    "time_zone": {"time_zone", "timezone", "tz"},
    "customer_type": {"customer_type", "type", "客户类型"},
    "grade": {"grade", "等级"},
    "tags": {"tags", "tag", "标签"},
}
GRADES = frozenset(Contact.Grade.values)
# The address is left out of the report: the person asked to be forgotten.
ERASED_REASON = "this person's data was erased at their request; they are never added again"


class ImportFileError(Exception):
    """The file as a whole cannot be imported (one-line reason)."""


@dataclass
class ImportSummary:
    """Counts of one import. ``skipped`` = blank rows + ``duplicates`` (repeats inside the file)
    + ``unchanged`` (existing contacts the row changes nothing in). Only the first
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


@dataclass
class Table:
    header: list[str]
    rows: Generator[tuple[int, list[str]], None, None]
    # Data rows counted without parsing them (XLSX row elements), or None when only reading tells.
    counted_rows: int | None = None


# --- Reading files -------------------------------------------------------------------


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


def _too_many_rows(rows: int | str) -> ImportFileError:
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
                yield reader.line_num, [f"\x00malformed row: {error}"]
                continue
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                yield reader.line_num, [f"\x00malformed row: {len(row)} fields, the header has {width}"]
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
        raise _too_many_rows(rows - 1)
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


# --- Mapping --------------------------------------------------------------------------


def _header_key(header: str) -> str:
    return re.sub(r"[\s\-_.]+", "_", header.strip().lower()).strip("_")


def auto_mapping(header: list[str]) -> dict[str, str]:
    """Guess the target of each column from its header: profile fields, tags, custom field keys."""
    custom_keys = set(CustomField.objects.values_list("key", flat=True))
    mapping: dict[str, str] = {}
    for column in header:
        key = _header_key(column)
        target = next((name for name, aliases in HEADER_ALIASES.items() if key in aliases), None)
        if target is None and key.replace("_", "-") in custom_keys | {k.replace("_", "-") for k in custom_keys}:
            target = f"custom.{next(k for k in custom_keys if k.replace('_', '-') == key.replace('_', '-'))}"
        if target and target not in mapping.values():
            mapping[column] = target
    return mapping


def mapping_choices() -> list[tuple[str, str]]:
    """Targets a column can be mapped to, for the admin's mapping form."""
    fields = [(name, Contact._meta.get_field(name).verbose_name) for name in ["email", *PROFILE_FIELDS]]
    custom = [(f"custom.{key}", f"custom: {label}") for key, label in CustomField.objects.values_list("key", "label")]
    return [("", "(ignore)"), *fields, ("tags", "tags (comma-separated)"), *custom]


# --- Row preparation ------------------------------------------------------------------------


@dataclass
class PendingContact:
    row: int
    email: str
    domain: str
    profile: dict[str, str]
    custom: dict[str, Any]
    tags: set[str]
    verification: str
    verification_reason: str
    # A repeat of an address written by an earlier chunk: it only fills in fields, it is not counted again.
    repeat: bool = False

    def merge(self, later: PendingContact) -> None:
        self.profile.update({key: value for key, value in later.profile.items() if value})
        self.custom.update(later.custom)
        self.tags |= later.tags


class RowError(ValueError):
    pass


def _coerce_custom(kind: str, raw: str) -> Any:
    if kind == CustomField.Kind.NUMBER:
        try:
            number = float(raw.replace(",", ""))
        except ValueError:
            raise RowError(f"not a number: {raw!r}") from None
        return int(number) if number.is_integer() else number
    if kind == CustomField.Kind.DATE:
        parsed = parse_date(raw[:10])
        if parsed is None:
            raise RowError(f"not a date (YYYY-MM-DD): {raw!r}")
        return parsed.isoformat()
    if kind == CustomField.Kind.BOOLEAN:
        return raw.strip().lower() in {"1", "true", "yes", "y", "是"}
    return raw


class RowParser:
    """Turns raw rows into validated pending contacts, following one column mapping."""

    def __init__(self, header: list[str], mapping: dict[str, str], *, check_dns: bool) -> None:
        self.positions = {target: header.index(column) for column, target in mapping.items() if column in header}
        if "email" not in self.positions:
            raise ImportFileError(
                "no email column: name one 'email' (or map a column to email); columns: " + ", ".join(header)
            )
        self.custom_kinds = dict(CustomField.objects.values_list("key", "kind"))
        self.check_dns = check_dns
        self.checker = DomainChecker()

    def parse(self, number: int, cells: list[str]) -> PendingContact | None:
        """A pending contact, None for a blank row; raises RowError for a bad one."""
        if cells and cells[0].startswith("\x00"):
            raise RowError(cells[0][1:])
        values = {target: cells[pos].strip() if pos < len(cells) else "" for target, pos in self.positions.items()}
        if not any(values.values()):
            return None
        if not values["email"]:
            raise RowError("no email address")
        verdict = validate_address(values["email"], check_dns=self.check_dns, checker=self.checker)
        if not verdict.valid:
            hint = f"did you mean {verdict.suggestion}?" if verdict.suggestion else verdict.detail
            raise RowError(f"{verdict.reason}: {hint}" if hint else verdict.reason)
        profile = {name: values[name][:100] for name in PROFILE_FIELDS if name in values}
        if profile.get("grade"):
            profile["grade"] = profile["grade"].upper()
            if profile["grade"] not in GRADES:
                raise RowError(f"grade must be one of {', '.join(sorted(GRADES))}")
        custom = {}
        for target, raw in values.items():
            if target.startswith("custom.") and raw:
                key = target.removeprefix("custom.")
                try:
                    custom[key] = _coerce_custom(self.custom_kinds.get(key, CustomField.Kind.TEXT), raw)
                except RowError as error:
                    raise RowError(f"custom field {key}: {error}") from None
        verification = {
            DomainStatus.OK: Contact.Verification.VERIFIED,
            DomainStatus.UNVERIFIED: Contact.Verification.UNVERIFIED,
        }.get(verdict.domain_status, Contact.Verification.UNCHECKED)
        return PendingContact(
            row=number,
            email=verdict.normalized,
            domain=verdict.normalized.rpartition("@")[2],
            profile=profile,
            custom=custom,
            tags={tag.strip()[:100] for tag in re.split(r"[,;|]", values.get("tags", "")) if tag.strip()},
            verification=verification,
            verification_reason=verdict.reason or "",
        )


# --- Writing ---------------------------------------------------------------------------


def _db_datetime(moment: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def _db_json(model: type[models.Model], field: str, value: Any) -> Any:
    return model._meta.get_field(field).get_db_prep_save(value, connection)


class RowInserter:
    """INSERT many rows of a model through one statement run by the driver's ``executemany``.

    bulk_create compiles every value of every object in Python (about 0.3 ms per 45-column
    contact here, and SQLite's 999-parameter limit splits it into 22-row statements); the
    import writes 100k rows a minute only with one statement prepared once. Columns the
    caller does not give get their field's default, so fields added by other apps are filled.
    """

    def __init__(self, model: type[models.Model], given: list[str], *, conflict: str = "", update: list[str] = ()):
        fields = {field.name: field for field in model._meta.concrete_fields if not field.primary_key}
        others = [field for name, field in fields.items() if name not in given]
        self.defaults = tuple(field.get_db_prep_save(field.get_default(), connection) for field in others)
        quote = connection.ops.quote_name
        columns = [quote(fields[name].column) for name in given] + [quote(field.column) for field in others]
        self.sql = (
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 - names from the model
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        if conflict:
            assignments = ", ".join(
                f"{quote(fields[name].column)} = excluded.{quote(fields[name].column)}" for name in update
            )
            self.sql += f" ON CONFLICT ({quote(fields[conflict].column)}) DO UPDATE SET {assignments}"

    def run(self, rows: list[tuple]) -> None:
        if not rows:
            return
        params = [row + self.defaults for row in rows]
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                cursor.executemany(self.sql, params)
                return
            # Django's PostgreSQL cursors bind client-side, quoting every value in Python; a
            # server-side-binding cursor on the same connection (and transaction) sends them as parameters.
            with psycopg.Cursor(cursor.connection) as raw:
                raw.executemany(self.sql, params)


class ChunkWriter:
    """Upserts one chunk of pending contacts and their tags, list subscriptions and history."""

    def __init__(self, mapped_profile: list[str], mailing_list: MailingList | None, source_name: str) -> None:
        self.mapped_profile = mapped_profile
        self.mailing_list = mailing_list
        self.source_name = source_name
        self.given = [
            "email",
            "email_domain",
            *mapped_profile,
            "custom_fields",
            "verification",
            "verification_reason",
            "verified_at",
            "updated_at",
            "source",
            "consent_at",
            "consent_method",
            "consent_form",
            "created_at",
        ]
        self.updated = self.given[2 : self.given.index("updated_at") + 1]

    @transaction.atomic
    def write(self, pending: dict[str, PendingContact]) -> tuple[set[str], set[str]]:
        """Write the chunk; returns the emails that already existed, and those of them left unchanged.

        Existing contacts the file would not change are not written at all, so re-running an
        import is cheap, leaves no new history, and reports them unchanged rather than updated."""
        existing = {
            row["email"]: row
            for row in Contact.objects.filter(email__in=list(pending)).values(
                "email", "custom_fields", "verification", *self.mapped_profile
            )
        }
        now = timezone.now()
        rows = {email: self._contact_row(item, existing.get(email), now) for email, item in pending.items()}
        changed = [email for email, row in rows.items() if row is not None]
        RowInserter(Contact, self.given, conflict="email", update=self.updated).run([rows[email] for email in changed])
        ids = dict(Contact.objects.filter(email__in=list(pending)).values_list("email", "id"))
        tagged = self._tag(pending, ids)
        subscribed = self._subscribe(ids) if self.mailing_list else set()
        touched = [email for email in pending if rows[email] is not None or ids[email] in subscribed]
        self._history(touched, ids, set(existing), subscribed, now)
        written = set(touched)
        unchanged = {email for email in existing if email not in written and ids[email] not in tagged}
        return set(existing), unchanged

    def _contact_row(self, item: PendingContact, current: dict[str, Any] | None, now: datetime) -> tuple | None:
        """The row to upsert, or None when the contact exists and the file changes nothing in it."""
        profile = [item.profile.get(name, "") for name in self.mapped_profile]
        custom = item.custom
        if current:
            # Blank cells keep what we know; filled cells overwrite it.
            profile = [value or current[name] for name, value in zip(self.mapped_profile, profile, strict=True)]
            custom = {**current["custom_fields"], **custom}
            same_verification = item.verification in (Contact.Verification.UNCHECKED, current["verification"])
            unchanged = (
                profile == [current[name] for name in self.mapped_profile] and custom == current["custom_fields"]
            )
            if unchanged and same_verification:
                return None
        moment = _db_datetime(now)
        checked = item.verification != Contact.Verification.UNCHECKED
        return (
            item.email,
            item.domain,
            *profile,
            _db_json(Contact, "custom_fields", custom),
            item.verification,
            item.verification_reason,
            moment if checked else None,
            moment,
            Contact.Source.IMPORT,
            moment,
            "import",
            self.source_name[:200],
            moment,
        )

    def _history(self, emails: list[str], ids: dict[str, int], existing: set[str], subscribed: set[int], now) -> None:
        base = {"source": self.source_name, **({"list": self.mailing_list.slug} if self.mailing_list else {})}
        details = {created: _db_json(Activity, "details", {**base, "created": created}) for created in (True, False)}
        moment = _db_datetime(now)
        kinds = {True: Activity.Kind.SUBSCRIBED, False: Activity.Kind.IMPORTED}
        RowInserter(Activity, ["contact", "kind", "occurred_at", "details"]).run(
            [(ids[email], kinds[ids[email] in subscribed], moment, details[email not in existing]) for email in emails]
        )

    def _tag(self, pending: dict[str, PendingContact], ids: dict[str, int]) -> set[int]:
        """Add the file's tags; returns the ids of contacts that gained one."""
        names = set().union(*(item.tags for item in pending.values()))
        if not names:
            return set()
        tags = {tag.name: tag.pk for tag in Tag.objects.filter(name__in=names)}
        for name in names - set(tags):
            tags[name] = Tag.objects.get_or_create(name=name)[0].pk
        pairs = {(ids[email], tags[name]) for email, item in pending.items() for name in item.tags}
        present = set(
            TaggedContact.objects.filter(
                content_object_id__in=list(ids.values()), tag_id__in=list(tags.values())
            ).values_list("content_object_id", "tag_id")
        )
        added = sorted(pairs - present)
        RowInserter(TaggedContact, ["content_object", "tag"]).run(added)
        return {contact_id for contact_id, _ in added}

    def _subscribe(self, ids: dict[str, int]) -> set[int]:
        """Add to the list only contacts still subscribed and not suppressed; returns the newly added."""
        return set(subscribe_many(ids.values(), self.mailing_list))


# --- The whole import ------------------------------------------------------------------------


def import_file(
    path: Path,
    *,
    mapping: dict[str, str] | None = None,
    mailing_list: MailingList | None = None,
    check_dns: bool | None = None,
    source_name: str = "",
    chunk_size: int = CHUNK_SIZE,
    on_progress: Callable[[ImportSummary], None] | None = None,
    error_report: TextIO | None = None,
) -> ImportSummary:
    """Import a CSV/XLSX file. ``mapping`` (column -> field) defaults to :func:`auto_mapping`.

    Raises ImportFileError when the file as a whole cannot be imported; bad rows are
    reported in the summary and the good ones imported. Every refused row is also written
    to ``error_report`` as CSV (row, email, reason), the summary keeping only the first ones.
    A CSV longer than CONTACTS_IMPORT_MAX_ROWS stops there with an ImportFileError (the rows
    before it are imported); an XLSX is refused before any row is read.
    """
    table = open_table(Path(path))
    mapping = mapping or auto_mapping(table.header)
    dns = settings.EMAIL_CHECK_DNS if check_dns is None else check_dns
    parser = RowParser(table.header, mapping, check_dns=dns)
    mapped_profile = [name for name in PROFILE_FIELDS if name in parser.positions]
    writer = ChunkWriter(mapped_profile, mailing_list, source_name or Path(path).name)
    summary = ImportSummary(report=csv.writer(error_report) if error_report else None)
    seen: set[str] = set()
    pending: dict[str, PendingContact] = {}
    with contextlib.closing(table.rows):
        for number, cells in table.rows:
            summary.rows += 1
            if summary.rows > settings.CONTACTS_IMPORT_MAX_ROWS:
                _flush(writer, pending, summary, on_progress)
                raise _too_many_rows(f"more than {settings.CONTACTS_IMPORT_MAX_ROWS}")
            _take_row(parser, summary, seen, pending, number, cells)
            if len(pending) >= chunk_size or summary.rows % PROGRESS_ROWS == 0:
                _flush(writer, pending, summary, on_progress)
    _flush(writer, pending, summary, on_progress)
    return summary


def _take_row(
    parser: RowParser,
    summary: ImportSummary,
    seen: set[str],
    pending: dict[str, PendingContact],
    number: int,
    cells: list[str],
) -> None:
    try:
        item = parser.parse(number, cells)
    except RowError as error:
        position = parser.positions["email"]
        malformed = bool(cells) and cells[0].startswith("\x00")
        summary.error(number, "" if malformed or position >= len(cells) else cells[position].strip(), str(error))
        return
    if item is None:
        summary.skipped += 1
    elif item.email in seen:
        summary.skipped += 1
        summary.duplicates += 1
        if item.email in pending:
            pending[item.email].merge(item)
        else:
            item.repeat = True
            pending[item.email] = item
    else:
        seen.add(item.email)
        pending[item.email] = item


def _flush(
    writer: ChunkWriter,
    pending: dict[str, PendingContact],
    summary: ImportSummary,
    on_progress: Callable[[ImportSummary], None] | None,
) -> None:
    for email in erased_among(pending):
        item = pending.pop(email)
        if not item.repeat:
            summary.error(item.row, "", ERASED_REASON)
    if pending:
        existing, unchanged = writer.write(pending)
        for email, item in pending.items():
            if item.repeat:
                continue
            if email in unchanged:
                summary.skipped += 1
                summary.unchanged += 1
            elif email in existing:
                summary.updated += 1
            else:
                summary.created += 1
        pending.clear()
    if on_progress:
        on_progress(summary)


# --- Background jobs (the admin's upload -> map -> run) ------------------------------------------


def queue_job(job: ImportJob, mapping: dict[str, str]) -> bool:
    """Save the column mapping and start the import after commit; False if the job already ran."""
    # Imported here: contacts.tasks imports this module.
    from contacts.tasks import run_import_job

    # A job whose file the retention policy deleted cannot run again.
    queued = (
        ImportJob.objects.filter(
            pk=job.pk, status__in=[ImportJob.Status.DRAFT, ImportJob.Status.FAILED, ImportJob.Status.RUNNING]
        )
        .exclude(file="")
        .update(status=ImportJob.Status.QUEUED, mapping=mapping, failure="")
    )
    if queued:
        run_import_job.delay_on_commit(job.pk)
    return bool(queued)


def run_job(job_id: int) -> None:
    """Run a queued import job; whoever claims it first runs it, a second delivery does nothing."""
    now = timezone.now()
    if not ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=now, rows_done=0, rows_total=0
    ):
        return
    job = ImportJob.objects.select_related("mailing_list").get(pk=job_id)
    jobs = ImportJob.objects.filter(pk=job_id)

    def progress(summary: ImportSummary) -> None:
        jobs.update(
            rows_done=summary.rows,
            created=summary.created,
            updated=summary.updated,
            skipped=summary.skipped,
            error_count=summary.error_count,
        )

    report_name = _error_report_name(job)
    try:
        jobs.update(rows_total=count_rows(Path(job.file.path), lambda rows: jobs.update(rows_total=rows)))
        report_path = Path(job.error_report.storage.path(report_name))
        with report_path.open("w", encoding="utf-8-sig", newline="") as report:
            csv.writer(report).writerow(["row", "email", "reason"])
            summary = import_file(
                Path(job.file.path),
                mapping=job.mapping or None,
                mailing_list=job.mailing_list,
                check_dns=job.check_dns,
                source_name=job.original_name,
                on_progress=progress,
                error_report=report,
            )
    except ImportFileError as error:
        jobs.update(status=ImportJob.Status.FAILED, failure=str(error), finished_at=timezone.now())
        return
    jobs.update(
        status=ImportJob.Status.DONE,
        rows_done=summary.rows,
        created=summary.created,
        updated=summary.updated,
        skipped=summary.skipped,
        duplicates=summary.duplicates,
        unchanged=summary.unchanged,
        errors=summary.errors,
        error_count=summary.error_count,
        error_report=report_name if summary.error_count else "",
        finished_at=timezone.now(),
    )


def _error_report_name(job: ImportJob) -> str:
    """Next to the upload, in the same private storage; a rerun overwrites the earlier report."""
    name = f"{Path(job.file.name).with_suffix('')}-errors.csv"
    Path(job.error_report.storage.path(name)).parent.mkdir(parents=True, exist_ok=True)
    return name


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
                raise _too_many_rows(f"more than {settings.CONTACTS_IMPORT_MAX_ROWS}")
            if on_progress and rows % PROGRESS_ROWS == 0:
                on_progress(rows)
        return rows


def preview(job: ImportJob, limit: int = PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    """The header and first rows of an uploaded file, for the mapping screen, long cells cut short."""
    table = open_table(Path(job.file.path))
    with contextlib.closing(table.rows):
        rows = [[shorten(cell) for cell in cells] for _, cells in itertools.islice(table.rows, limit)]
    return table.header, rows


def shorten(text: str) -> str:
    """A cell cut to PREVIEW_CELL_CHARS, for pages that show what a file holds."""
    return text if len(text) <= PREVIEW_CELL_CHARS else text[: PREVIEW_CELL_CHARS - 1] + "…"
