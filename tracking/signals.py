"""Signals tracking sends for apps above it (they connect; tracking never imports them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.dispatch import Signal

# Sent inside the transaction that inserted opens/clicks into Activity, with ``events``: one
# dict per row really inserted (a replayed batch sends an empty list). Receivers write in the
# same transaction, so what they derive commits or rolls back with the events themselves.
events_recorded = Signal()


def recorded(event: dict[str, Any], kind: str, is_machine: bool) -> dict[str, Any]:
    """An inserted buffer event in the shape receivers read (the columns Activity got)."""
    return {
        "contact_id": event["c"],
        "kind": kind,
        "occurred_at": datetime.fromtimestamp(event["t"], UTC),
        "campaign_id": event["g"],
        "message_id": event["m"],
        "link_index": event["l"],
        "link_url": event.get("url", ""),
        "user_agent": event["u"],
        "is_machine": is_machine,
    }
