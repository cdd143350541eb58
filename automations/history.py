"""Contact history rows for a whole group in one INSERT ... SELECT: the rows are never built
in Python (at thousands per batch, building and binding them cost more than the step itself)."""

from __future__ import annotations

import json

from django.db import connection
from django.db.models import F
from django.utils import timezone

from automations.insert_select import insert_select
from contacts.models import Activity, Contact


def record(contact_ids: list[int], kind: str, summary: str, **details) -> int:
    """One history row (``details`` with the summary, source "journey") per contact; returns how many."""
    if not contact_ids:
        return 0
    rows = Contact.objects.filter(pk__in=contact_ids).order_by().annotate(r_id=F("pk")).values_list("r_id")
    as_json = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    payload = json.dumps({"summary": summary, "source": "journey", **details})
    return insert_select(
        Activity,
        "contact_id, kind, occurred_at, link_url, is_machine, details",
        f"a.r_id, %s, %s, '', %s, {as_json}",
        rows,
        [kind, timezone.now(), False, payload],
    )
