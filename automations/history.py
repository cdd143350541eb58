"""Contact history rows for a whole group in one INSERT ... SELECT: the rows are never built
in Python (at thousands per batch, building and binding them cost more than the step itself)."""

from __future__ import annotations

import json

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F
from django.utils import timezone

from contacts.models import Activity, Contact


def record(contact_ids: list[int], kind: str, summary: str, **details) -> int:
    """One history row (``details`` with the summary, source "journey") per contact; returns how many."""
    if not contact_ids:
        return 0
    try:
        rows = Contact.objects.filter(pk__in=contact_ids).order_by().annotate(r_id=F("pk")).values_list("r_id")
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:
        return 0
    table = connection.ops.quote_name(Activity._meta.db_table)
    as_json = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    # Only our own fragments and the ORM's compiled query are interpolated; values are parameters.
    insert = (
        f"INSERT INTO {table} (contact_id, kind, occurred_at, link_url, is_machine, details) "  # noqa: S608
        f"SELECT a.r_id, %s, %s, '', %s, {as_json} FROM ({sql}) a"
    )
    payload = json.dumps({"summary": summary, "source": "journey", **details})
    with connection.cursor() as cursor:
        cursor.execute(insert, [kind, timezone.now(), False, payload, *params])
        return cursor.rowcount
