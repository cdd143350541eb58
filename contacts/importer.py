"""Contact import from CSV or XLSX: the contacts' row type on the import pipeline
(contacts/import_read.py reads, contacts/import_rows.py runs read -> map -> parse -> write).

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

import contextlib
import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from taggit.models import Tag

from contacts import import_rows, import_states, services
from contacts.erased import erased_among
from contacts.import_read import MALFORMED, PREVIEW_ROWS, ImportFileError, count_rows, open_table, preview_rows
from contacts.import_rows import CHUNK_SIZE, ImportSummary, RowError
from contacts.models import Activity, Contact, CustomField, ImportJob, MailingList, TaggedContact
from contacts.sql_insert import RowInserter, db_datetime, db_json
from contacts.validation import DomainChecker, DomainStatus, validate_address

__all__ = ["CHUNK_SIZE", "ImportFileError", "ImportSummary", "auto_mapping", "import_file", "mapping_choices"]

PROFILE_FIELDS = [*Contact.PROFILE_FIELDS, "grade"]
# Headers people give these columns besides the field's own name (which always matches).
HEADER_ALIASES = {
    "email": {"e_mail", "email_address", "mail", "邮箱", "电子邮件", "邮件地址"},
    "first_name": {"firstname", "given_name", "forename", "名"},
    "last_name": {"lastname", "surname", "family_name", "姓"},
    "company": {"company_name", "organization", "organisation", "公司"},
    "job_title": {"title", "position", "职位"},
    "phone": {"phone_number", "telephone", "mobile", "电话", "手机"},
    "industry": {"行业"},
    "region": {"province", "state", "省份", "地区"},
    "city": {"城市"},
    "country": {"国家"},
    "language": {"lang", "语言"},
    "time_zone": {"timezone", "tz"},
    "customer_type": {"type", "客户类型"},
    "grade": {"等级"},
    "tags": {"tag", "标签"},
}
TARGETS = ["email", *PROFILE_FIELDS, "tags"]
GRADES = frozenset(Contact.Grade.values)
# The address is left out of the report: the person asked to be forgotten.
ERASED_REASON = "this person's data was erased at their request; they are never added again"


# --- Mapping --------------------------------------------------------------------------


def auto_mapping(header: list[str]) -> dict[str, str]:
    """Guess the target of each column from its header: profile fields, tags, custom field keys."""
    custom_keys = CustomField.objects.values_list("key", flat=True)
    aliases = {name: {name, *HEADER_ALIASES.get(name, ())} for name in TARGETS}
    aliases |= {f"custom.{key}": {key.replace("-", "_")} for key in custom_keys}
    return import_rows.guess_mapping(header, aliases)


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

    @property
    def key(self) -> str:
        return self.email

    def merge(self, later: PendingContact) -> None:
        self.profile.update({key: value for key, value in later.profile.items() if value})
        self.custom.update(later.custom)
        self.tags |= later.tags


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


class ContactParser:
    """Turns raw rows into validated pending contacts, following one column mapping."""

    def __init__(self, header: list[str], mapping: dict[str, str], *, check_dns: bool) -> None:
        self.positions = import_rows.column_positions(header, mapping, required="email")
        self.custom_kinds = dict(CustomField.objects.values_list("key", "kind"))
        self.check_dns = check_dns
        self.checker = DomainChecker()

    def parse(self, number: int, cells: list[str]) -> PendingContact | None:
        """A pending contact, None for a blank row; raises RowError for a bad one."""
        if cells and cells[0].startswith(MALFORMED):
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

    def label(self, cells: list[str]) -> str:
        """The row's email cell as the file has it, for the error report."""
        position = self.positions["email"]
        malformed = bool(cells) and cells[0].startswith(MALFORMED)
        return "" if malformed or position >= len(cells) else cells[position].strip()


# --- Writing ---------------------------------------------------------------------------


class ContactWriter:
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
    def refused(self, pending: dict[str, PendingContact]) -> dict[str, str]:
        return dict.fromkeys(erased_among(pending), ERASED_REASON)

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
        moment = db_datetime(now)
        checked = item.verification != Contact.Verification.UNCHECKED
        return (
            item.email,
            item.domain,
            *profile,
            db_json(Contact, "custom_fields", custom),
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
        details = {created: db_json(Activity, "details", {**base, "created": created}) for created in (True, False)}
        moment = db_datetime(now)
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
        return set(services.subscribe_many(ids.values(), self.mailing_list))


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
    with contextlib.closing(table.rows):
        dns = settings.EMAIL_CHECK_DNS if check_dns is None else check_dns
        parser = ContactParser(table.header, mapping or auto_mapping(table.header), check_dns=dns)
        mapped_profile = [name for name in PROFILE_FIELDS if name in parser.positions]
        writer = ContactWriter(mapped_profile, mailing_list, source_name or Path(path).name)
        summary = ImportSummary(report=csv.writer(error_report) if error_report else None)
        return import_rows.run(table, parser, writer, summary, chunk_size=chunk_size, on_progress=on_progress)


def preview(job: ImportJob, limit: int = PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    """The header and first rows of an uploaded file, for the mapping screen, long cells cut short."""
    return preview_rows(Path(job.file.path), limit)


# --- The background job (the admin's upload -> map -> run; its states are in contacts/import_states.py) ---


def run_job(job_id: int) -> None:
    """Run a queued import job; whoever claims it first runs it, a second delivery does nothing."""
    job = import_states.claim_import(job_id)
    if job is None:
        return

    def progress(summary: ImportSummary) -> None:
        import_states.record_import_progress(
            job_id,
            rows_done=summary.rows,
            created=summary.created,
            updated=summary.updated,
            skipped=summary.skipped,
            error_count=summary.error_count,
        )

    report_name = _error_report_name(job)
    try:
        path = Path(job.file.path)
        rows_total = count_rows(path, lambda rows: import_states.record_import_progress(job_id, rows_total=rows))
        import_states.record_import_progress(job_id, rows_total=rows_total)
        with Path(job.error_report.storage.path(report_name)).open("w", encoding="utf-8-sig", newline="") as report:
            csv.writer(report).writerow(["row", "email", "reason"])
            summary = import_file(
                path,
                mapping=job.mapping or None,
                mailing_list=job.mailing_list,
                check_dns=job.check_dns,
                source_name=job.original_name,
                on_progress=progress,
                error_report=report,
            )
    except ImportFileError as error:
        import_states.fail_import(job_id, str(error))
        return
    counts = summary.as_json()
    counts["rows_done"] = counts.pop("rows")
    import_states.finish_import(job_id, error_report=report_name if summary.error_count else "", **counts)


def _error_report_name(job: ImportJob) -> str:
    """Next to the upload, in the same private storage; a rerun overwrites the earlier report."""
    name = f"{Path(job.file.name).with_suffix('')}-errors.csv"
    Path(job.error_report.storage.path(name)).parent.mkdir(parents=True, exist_ok=True)
    return name
