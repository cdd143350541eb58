"""Orders and deals: the CSV/XLSX import (``manage.py import_deals``, the admin's import page).

Files are read by the contacts importer's reading stage (``open_table``: size and shape
bounds, encoding detection, CSV or XLSX, spreadsheet row numbers); the row mapping is ours.
Rows name an existing contact by address; bad rows are reported by row number and the good
ones imported. A rerun changes nothing: a row with a reference updates that order, a row
without one is skipped when the same order (contact, date, amount, currency, status) exists.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import transaction

from contacts.import_rows import ImportSummary, RowError
from contacts.importer import ImportFileError, open_table
from contacts.models import Activity, Contact
from contacts.services import record_many
from sales.models import Deal

__all__ = ["ImportFileError", "ImportSummary", "import_deals"]

CHUNK_SIZE = 2000
REQUIRED = ("email", "date", "amount")
OPTIONAL = ("currency", "status", "reference")
UPDATABLE = ("contact_id", "date", "amount", "currency", "status")
CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass
class DealRow:
    row: int
    email: str
    date: date
    amount: Decimal
    currency: str
    status: str
    reference: str

    def key(self) -> tuple:
        """What identifies the order in the file and in the database."""
        return ("ref", self.reference) if self.reference else ("row", self.email, self.date, self.amount, self.currency)


def _positions(header: list[str]) -> dict[str, int]:
    names = [cell.strip().lower() for cell in header]
    positions = {name: names.index(name) for name in (*REQUIRED, *OPTIONAL) if name in names}
    missing = [name for name in REQUIRED if name not in positions]
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)} (needed: email, date, amount)")
    return positions


def _parse_date(raw: str) -> date:
    try:
        return datetime.fromisoformat(raw).date() if "T" in raw or " " in raw else date.fromisoformat(raw)
    except ValueError:
        raise RowError(f"date {raw!r} is not ISO 8601 (YYYY-MM-DD)") from None


def _parse_amount(raw: str) -> Decimal:
    try:
        amount = Decimal(raw.replace(",", "")) if raw else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise RowError(f"amount {raw!r} is not a number")
    return amount.quantize(Decimal("0.01"))


def parse_row(positions: dict[str, int], number: int, cells: list[str]) -> DealRow | None:
    """One data row as a DealRow; None for a blank row; RowError with the reason otherwise."""

    def cell(name: str) -> str:
        position = positions.get(name)
        return cells[position].strip() if position is not None and position < len(cells) else ""

    if not any(value.strip() for value in cells):
        return None
    email = cell("email").lower()
    if "@" not in email:
        raise RowError("no valid email address")
    currency = (cell("currency") or settings.SALES_DEFAULT_CURRENCY).upper()
    if not CURRENCY.match(currency):
        raise RowError(f"currency {currency!r} is not a three-letter ISO 4217 code")
    status = (cell("status") or Deal.Status.WON).lower()
    if status not in Deal.Status.values:
        raise RowError(f"status {status!r} is not one of {', '.join(Deal.Status.values)}")
    reference = cell("reference")
    if len(reference) > Deal._meta.get_field("reference").max_length:
        raise RowError("reference longer than 100 characters")
    return DealRow(number, email, _parse_date(cell("date")), _parse_amount(cell("amount")), currency, status, reference)


def import_deals(path: Path, *, chunk_size: int = CHUNK_SIZE) -> ImportSummary:
    """Import orders from a CSV/XLSX file; raises ImportFileError when the file as a whole
    cannot be read, and reports bad rows in the summary."""
    table = open_table(Path(path))
    positions = _positions(table.header)
    summary = ImportSummary()
    seen: set[tuple] = set()
    pending: list[DealRow] = []
    with contextlib.closing(table.rows):
        for number, cells in table.rows:
            summary.rows += 1
            try:
                item = parse_row(positions, number, cells)
            except RowError as error:
                email_at = positions["email"]
                summary.error(number, cells[email_at].strip() if email_at < len(cells) else "", str(error))
                continue
            if item is None:
                summary.skipped += 1
            elif item.key() in seen:
                summary.skipped += 1
                summary.duplicates += 1
            else:
                seen.add(item.key())
                pending.append(item)
            if len(pending) >= chunk_size:
                _write(pending, summary)
                pending = []
    _write(pending, summary)
    return summary


@transaction.atomic
def _write(rows: list[DealRow], summary: ImportSummary) -> None:
    """Write one chunk: three reads, one bulk insert, one bulk update, one history insert."""
    if not rows:
        return
    contacts = dict(Contact.objects.filter(email__in={row.email for row in rows}).values_list("email", "pk"))
    by_reference = {
        deal.reference: deal for deal in Deal.objects.filter(reference__in={r.reference for r in rows} - {""})
    }
    unreferenced = _existing_unreferenced(rows, contacts)
    new, changed = [], []
    for row in rows:
        contact_id = contacts.get(row.email)
        if contact_id is None:
            summary.error(row.row, row.email, "no contact with this address (import the contact first)")
            continue
        values = {"contact_id": contact_id, "date": row.date, "amount": row.amount, "currency": row.currency}
        values["status"] = row.status
        deal = by_reference.get(row.reference) if row.reference else None
        if deal is None and (row.reference or tuple(values.values()) not in unreferenced):
            new.append(Deal(reference=row.reference, **values))
        elif deal is not None and any(getattr(deal, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(deal, name, value)
            changed.append(deal)
        else:
            summary.skipped += 1
            summary.unchanged += 1
    Deal.objects.bulk_create(new)
    Deal.objects.bulk_update(changed, UPDATABLE)
    summary.created += len(new)
    summary.updated += len(changed)
    record_many(_history(new, "imported"))


def _existing_unreferenced(rows: list[DealRow], contacts: dict[str, int]) -> set[tuple]:
    ids = {contacts[row.email] for row in rows if not row.reference and row.email in contacts}
    existing = Deal.objects.filter(contact_id__in=ids, reference="").values_list(*UPDATABLE)
    return {
        (contact_id, day, amount.quantize(Decimal("0.01")), currency, status)
        for contact_id, day, amount, currency, status in existing
    }


def _history(deals: list[Deal], verb: str = "recorded", author=None) -> list[Activity]:
    return [
        Activity(
            contact_id=deal.contact_id,
            kind=Activity.Kind.DEAL,
            details={"summary": _summary(deal, verb), "deal": deal.pk, "date": deal.date.isoformat()},
            created_by=author,
        )
        for deal in deals
    ]


def _summary(deal: Deal, verb: str) -> str:
    name = f"Order {deal.reference}" if deal.reference else "Order"
    return f"{name} of {deal.date:%Y-%m-%d} {verb}: {deal.amount} {deal.currency}, {deal.get_status_display()}"


@transaction.atomic
def save_deal(deal: Deal, author, *, added: bool) -> Deal:
    """Save an order edited in the admin and note it in the contact's history."""
    deal.save()
    record_many(_history([deal], "added" if added else "changed", author))
    return deal
