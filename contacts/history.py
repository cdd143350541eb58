"""History events written set-based: one ``INSERT ... SELECT`` into Activity for a change
that moves many contacts at once (a standing recompute, a grade rule), instead of a loop.

The caller gives a SELECT yielding one row per contact and the details as SQL expressions
over its columns (alias ``m``); only JSON construction differs between SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from contacts.models import Activity

COLUMNS = "contact_id, kind, occurred_at, link_url, is_machine, details"


def json_object(pairs: dict[str, str]) -> str:
    """SQL building a JSON object from ``{key: SQL expression}`` (keys are our own literals)."""
    function = "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"
    arguments = ", ".join(f"'{key}', {expression}" for key, expression in pairs.items())
    return f"{function}({arguments})"


def label(expression: str) -> str:
    """SQL turning a stored choice value into words: ``at_risk`` -> ``at risk``, ``''`` -> ``none``."""
    return f"CASE WHEN {expression} = '' THEN 'none' ELSE REPLACE({expression}, '_', ' ') END"


def insert_select(
    kind: str,
    source: str,
    params: list[Any],
    details: dict[str, str],
    occurred_at: datetime,
    contact_column: str = "id",
) -> int:
    """Write one ``kind`` event per row of ``source`` (SQL with %s params); returns how many."""
    sql = f"""INSERT INTO {Activity._meta.db_table} ({COLUMNS})
        SELECT m.{contact_column}, %s, %s, '', FALSE, {json_object(details)} FROM ({source}) m"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [kind, connection.ops.adapt_datetimefield_value(occurred_at), *params])
        return max(cursor.rowcount, 0)
