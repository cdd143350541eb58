"""Contacts by standing month by month, and the moves between grades and standings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from contacts.models import Activity, Contact
from contacts.roles import MARKETERS, ensure_groups
from reports import audience_history
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
Standing = Contact.Standing


def on(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 9, tzinfo=UTC)


def changed(contact: Contact, kind: str, when: datetime, old: str, new: str) -> None:
    details = {"summary": f"Changed from {old} to {new}", "from": old, "to": new}
    Activity.objects.create(contact=contact, kind=kind, occurred_at=when, details=details)


def table(months) -> list[tuple[str, dict]]:
    return [(f"{start:%Y-%m}", {k: v for k, v in counts.items() if v}) for start, counts in months]


def test_without_history_each_month_shows_todays_standing_of_its_new_contacts():
    ContactFactory(created_at=on(2025, 1, 1), standing=Standing.INACTIVE)
    ContactFactory(created_at=on(2026, 3), standing=Standing.ACTIVE)
    ContactFactory(created_at=on(2026, 5), standing=Standing.AT_RISK)
    from_history, months = audience_history.standing_by_month(4, now=NOW)
    assert from_history is False
    assert table(months) == [
        ("2026-03", {"active": 1}),
        ("2026-04", {}),
        ("2026-05", {"at_risk": 1}),
        ("2026-06", {}),
    ]


def test_with_history_each_month_ends_with_the_standing_contacts_had_then():
    ContactFactory(created_at=on(2025, 1, 1), standing=Standing.INACTIVE)
    moved = ContactFactory(created_at=on(2026, 3), standing=Standing.AT_RISK)
    changed(moved, Activity.Kind.STANDING, on(2026, 5, 5), "active", "at_risk")
    ContactFactory(created_at=on(2026, 6, 2), standing=Standing.ENGAGED)
    from_history, months = audience_history.standing_by_month(4, now=NOW)
    assert from_history is True
    assert table(months) == [
        ("2026-03", {"active": 1, "inactive": 1}),
        ("2026-04", {"active": 1, "inactive": 1}),
        ("2026-05", {"at_risk": 1, "inactive": 1}),
        ("2026-06", {"at_risk": 1, "engaged": 1, "inactive": 1}),
    ]


def test_grade_moves_are_counted_per_month_and_direction():
    contacts = ContactFactory.create_batch(3)
    changed(contacts[0], Activity.Kind.GRADE, on(2026, 5, 1), "B", "A")
    changed(contacts[1], Activity.Kind.GRADE, on(2026, 5, 20), "B", "A")
    changed(contacts[2], Activity.Kind.GRADE, on(2026, 6, 1), "", "C")
    changed(contacts[2], Activity.Kind.GRADE, on(2025, 1, 1), "C", "B")  # before the window
    rows = audience_history.movement(Activity.Kind.GRADE, 4, now=NOW)
    assert [(f"{r['month']:%Y-%m}", r["from"], r["to"], r["contacts"]) for r in rows] == [
        ("2026-05", "B", "A", 2),
        ("2026-06", "", "C", 1),
    ]


def test_the_audience_page_shows_standing_over_time_and_grade_moves(client):
    ensure_groups()
    client.force_login(UserFactory(username="marketer", groups=[MARKETERS]))
    changed(ContactFactory(grade="A"), Activity.Kind.GRADE, datetime.now(UTC), "B", "A")
    page = client.get(reverse("reports:audience")).content.decode()
    assert 'id="table-standing"' in page
    assert "No standing history is recorded yet" in page
    assert 'id="table-grade_moves"' in page
