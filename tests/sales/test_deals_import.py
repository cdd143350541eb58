"""Importing orders: bad rows reported by row, good rows imported, safe to run twice."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from contacts.models import Activity
from sales.deals import import_deals
from sales.models import Deal
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path) -> dict:
    out = StringIO()
    call_command("import_deals", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_a_file_without_the_amount_column_is_refused_with_the_reason(tmp_path):
    with pytest.raises(CommandError, match="missing column\\(s\\): amount"):
        call_command("import_deals", str(write(tmp_path, "email,date\nann@example.com,2026-01-02\n")), "--json")


def test_bad_rows_are_reported_by_row_and_the_good_rows_still_import(tmp_path):
    ann = ContactFactory(email="ann@example.com")
    path = write(
        tmp_path,
        "email,date,amount,currency,status,reference\n"
        "ann@example.com,2026-01-02,120.50,usd,,A-1\n"
        "ann@example.com,02/01/2026,10,,,A-2\n"
        "nobody@example.com,2026-01-03,10,,,A-3\n"
        "ann@example.com,2026-01-04,ten,,,A-4\n"
        "ann@example.com,2026-01-05,10,EURO,,A-5\n"
        "ann@example.com,2026-01-06,10,,shipped,A-6\n"
        "ann@example.com,2026-01-07,99,,open,\n",
    )

    summary = run(path)

    assert summary["errors"] == [
        {"row": 3, "email": "ann@example.com", "reason": "date '02/01/2026' is not ISO 8601 (YYYY-MM-DD)"},
        {"row": 5, "email": "ann@example.com", "reason": "amount 'ten' is not a number"},
        {"row": 6, "email": "ann@example.com", "reason": "currency 'EURO' is not a three-letter ISO 4217 code"},
        {"row": 7, "email": "ann@example.com", "reason": "status 'shipped' is not one of won, open, lost, cancelled"},
        {"row": 4, "email": "nobody@example.com", "reason": "no contact with this address (import the contact first)"},
    ]
    assert (summary["rows"], summary["created"], summary["error_count"]) == (7, 2, 5)
    assert list(Deal.objects.order_by("date").values_list("contact", "date", "amount", "currency", "status")) == [
        (ann.pk, date(2026, 1, 2), Decimal("120.50"), "USD", "won"),
        (ann.pk, date(2026, 1, 7), Decimal("99.00"), "EUR", "open"),
    ]
    assert Activity.objects.filter(contact=ann, kind=Activity.Kind.DEAL).count() == 2


def test_running_the_same_file_twice_changes_nothing(tmp_path):
    ContactFactory(email="ann@example.com")
    path = write(
        tmp_path, "email,date,amount,reference\nann@example.com,2026-01-02,10,A-1\nann@example.com,2026-01-03,5,\n"
    )
    run(path)

    again = run(path)

    assert (again["created"], again["updated"], again["unchanged"], Deal.objects.count()) == (0, 0, 2, 2)


def test_a_row_with_a_known_reference_updates_that_order(tmp_path):
    ContactFactory(email="ann@example.com")
    run(write(tmp_path, "email,date,amount,status,reference\nann@example.com,2026-01-02,10,open,A-1\n"))

    summary = run(write(tmp_path, "email,date,amount,status,reference\nann@example.com,2026-01-02,12,won,A-1\n"))

    assert summary["updated"] == 1
    assert Deal.objects.values_list("amount", "status").get() == (Decimal("12.00"), "won")


def test_an_xlsx_file_with_real_dates_imports(tmp_path):
    ContactFactory(email="ann@example.com")
    book = openpyxl.Workbook()
    book.active.append(["Email", "Date", "Amount"])
    book.active.append(["ann@example.com", date(2026, 2, 3), 250])
    path = tmp_path / "orders.xlsx"
    book.save(path)

    summary = import_deals(path)

    assert (summary.created, Deal.objects.get().date) == (1, date(2026, 2, 3))
