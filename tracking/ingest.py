"""Writing a batch of open/click events into Activity in one statement.

The batch travels to the database as a single JSON parameter and is expanded there
(``jsonb_to_recordset`` on PostgreSQL, ``json_each`` on SQLite). The same statement drops
events of deleted contacts (join), flags events that came within seconds of delivery
(join on the message's ``sent_at``), skips event ids already recorded
(``ON CONFLICT DO NOTHING``) and returns the rows it really inserted, so engagement is
only ever credited once per event. Built by hand because building a model instance and
an ORM lookup per event cost ten times what the database work costs (see bench/drain_events.py).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from campaigns.models import Message
from contacts.models import Activity, Contact
from tracking import machine

_COLUMNS = "contact_id, kind, occurred_at, campaign_id, message_id, link_url, is_machine, details, event_id"
_TOO_SOON = machine.MACHINE_SECONDS

_POSTGRESQL = f"""
    INSERT INTO {Activity._meta.db_table} ({_COLUMNS})
    SELECT e.contact_id, e.kind, e.occurred_at, e.campaign_id, e.message_id, e.link_url,
           e.reason <> '' OR COALESCE(e.occurred_at < m.sent_at + interval '{_TOO_SOON} seconds', false),
           CASE WHEN e.reason <> '' THEN e.details || jsonb_build_object('machine', e.reason)
                WHEN e.occurred_at < m.sent_at + interval '{_TOO_SOON} seconds'
                THEN e.details || '{{"machine": "too_soon"}}'::jsonb
                ELSE e.details END,
           e.event_id
    FROM jsonb_to_recordset(%s::jsonb) AS e(
        event_id text, contact_id bigint, kind text, occurred_at timestamptz, campaign_id bigint,
        message_id bigint, link_url text, details jsonb, reason text)
    JOIN {Contact._meta.db_table} c ON c.id = e.contact_id
    LEFT JOIN {Message._meta.db_table} m ON m.id = e.message_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id, event_id, is_machine
"""  # noqa: S608 - table names and constants only; the batch is a parameter

# %% because the statement has parameters: the backend, and under DEBUG the debug cursor
# logging it, read it as a %-format string.
_SQLITE_SOON = f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', m.sent_at, '+{_TOO_SOON} seconds')"
_SQLITE = f"""
    INSERT INTO {Activity._meta.db_table} ({_COLUMNS})
    SELECT e.contact_id, e.kind, e.occurred_at, e.campaign_id, e.message_id, e.link_url,
           e.reason <> '' OR COALESCE(e.occurred_at < {_SQLITE_SOON}, 0),
           CASE WHEN e.reason <> '' THEN json_set(e.details, '$.machine', e.reason)
                WHEN e.occurred_at < {_SQLITE_SOON} THEN json_set(e.details, '$.machine', 'too_soon')
                ELSE e.details END,
           e.event_id
    FROM (
        SELECT json_extract(value, '$.event_id') AS event_id, json_extract(value, '$.contact_id') AS contact_id,
               json_extract(value, '$.kind') AS kind, json_extract(value, '$.occurred_at') AS occurred_at,
               json_extract(value, '$.campaign_id') AS campaign_id,
               json_extract(value, '$.message_id') AS message_id, json_extract(value, '$.link_url') AS link_url,
               json(json_extract(value, '$.details')) AS details, json_extract(value, '$.reason') AS reason
        FROM json_each(%s)
    ) AS e
    JOIN {Contact._meta.db_table} c ON c.id = e.contact_id
    LEFT JOIN {Message._meta.db_table} m ON m.id = e.message_id
    WHERE true
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id, event_id, is_machine
"""  # noqa: S608 - table names and constants only; the batch is a parameter


def insert_events(rows: list[dict[str, Any]]) -> list[tuple[int, str, bool]]:
    """Insert prepared rows (see tracking.services.ingest); returns (Activity id, event_id,
    is_machine) of the rows that were new."""
    sql = _POSTGRESQL if connection.vendor == "postgresql" else _SQLITE
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, separators=(",", ":"))])
        return [(id_, event_id, bool(is_machine)) for id_, event_id, is_machine in cursor.fetchall()]
