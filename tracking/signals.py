"""Signals tracking sends for apps above it (they connect; tracking never imports them)."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from tracking.events import TrackedEvent

# Sent inside the transaction that inserted opens/clicks into Activity, with ``events``: one
# dict per row really inserted (a replayed batch sends an empty list). Receivers write in the
# same transaction, so what they derive commits or rolls back with the events themselves.
events_recorded = Signal()


def recorded(event: TrackedEvent, is_machine: bool) -> dict[str, Any]:
    """An inserted buffer event in the shape receivers read (the columns Activity got)."""
    return {
        "contact_id": event.contact_id,
        "kind": event.activity_kind,
        "occurred_at": event.occurred_at,
        "campaign_id": event.campaign_id,
        "message_id": event.message_id,
        "link_index": event.link_index,
        "link_url": event.url,
        "user_agent": event.user_agent,
        "is_machine": is_machine,
    }
