"""Signals tracking sends for apps above it (they connect; tracking never imports them)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that inserted opens/clicks into Activity, with ``activity_ids``:
# the ids of the rows really inserted (a replayed batch sends an empty list), and
# ``user_agents``: every user agent the batch's events came with (so receivers need not read
# them back). Receivers read those rows and write in the same transaction, so what they derive
# commits or rolls back with the events themselves.
events_recorded = Signal()
