# ruff: noqa: S608 - table and column names are this module's constants; every value is bound
"""Folding campaign events into the roll-up tables (reports.models), batch by batch.

Three feeds call :func:`roll_up` with ids of Activity rows: the tracking drain's
``events_recorded`` signal for opens and clicks (inside the transaction that inserted them),
:func:`reports.feeds.catch_up` for the rest of a campaign's history (sends, deliveries,
bounces, complaints, unsubscribes) and :func:`reports.feeds.rebuild`. The database reads the
rows back from Activity itself, so no event travels through Python: the only Python work per
batch is naming the device family of the few user agents in it.

Unique counts are exact because each (message, kind) pair is claimed once: one bit per kind
(and per kind by a person) in ``MessageSeen.flags``, one per link 0-30 (and per link by a
person) in ``MessageSeen.links``, and a ``FirstSeen`` row per other link clicked.
Within a batch and across batches the first event is the one with the lowest Activity id, so
a rebuild, which replays the rows in id order, comes to the incremental figures whatever its
batch size.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from functools import lru_cache

from django.db import connection, transaction

from contacts.timeline import device
from reports import rollup_sql
from reports.rollup_sql import BITS, BOUNCED, ENGAGEMENT, HISTORY, HUMAN, LINK_BITS, Kind

__all__ = ["BITS", "BOUNCED", "ENGAGEMENT", "HISTORY", "HUMAN", "LINK_BITS", "device_family", "roll_up"]


PLANNER_OFF = ("jit", "enable_mergejoin", "enable_memoize")


@lru_cache(maxsize=4096)
def device_family(user_agent: str) -> str:
    """ "Outlook on Windows", "iPhone", ... or "Unknown"; cached, user agents repeat a lot."""
    words = device(user_agent).removeprefix("in ").removeprefix("on ")
    return words[:100] or "Unknown"


def roll_up(activity_ids: Sequence[int], user_agents: Collection[str] | None = None) -> None:
    """Add these Activity rows (opens, clicks and the history kinds of campaigns; others are
    skipped) to the roll-ups, in the transaction that wrote them or once they are committed:
    once per row, in ascending id order across calls. ``user_agents``, if known, holds at least
    those of the rows' opens and clicks; otherwise they are read first.

    On PostgreSQL this is one statement whose data-modifying parts claim the unique counts (``ON
    CONFLICT ... RETURNING`` what was new, so concurrent feeds serialise on the claimed rows)
    and add to every counter. SQLite, with one writer at a time, runs the same parts one by one
    through temporary tables."""
    if not activity_ids:
        return
    postgresql = connection.vendor == "postgresql"
    ids = sorted(activity_ids)
    # As text: psycopg adapts a list value by value, the database parses the literal at once.
    ids_param = "{" + ",".join(map(str, ids)) + "}" if postgresql else json.dumps(ids)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        agents = _user_agents(cursor, ids_param) if user_agents is None else user_agents
        families = json.dumps({agent: device_family(agent) for agent in agents})
        if postgresql:
            # A drain's batch is a run of ids with few gaps: read as a range, not id by id.
            dense = ids[-1] - ids[0] < 2 * len(ids)
            span = [ids[0], ids[-1]] if dense else []
            # Measured on 10,000-event batches: the statement's estimated cost passes
            # jit_above_cost, and compiling it took 200 ms a batch, more than running it; a merge
            # join sorted the whole batch to find the few subjects with new claims; memoizing the
            # claim rows' lookups (each subject once) only added work.
            cursor.execute(f"SET LOCAL {' = off; SET LOCAL '.join(PLANNER_OFF)} = off")
            cursor.execute(rollup_sql.postgresql_statement(dense), [*span, ids_param, families])
            cursor.execute(f"RESET {'; RESET '.join(PLANNER_OFF)}")
            return
        for statement, bound in rollup_sql.sqlite_statements():
            cursor.execute(statement, [ids_param, families] if bound else None)


def _user_agents(cursor, ids: object) -> list[str]:
    """The user agents a person's opens and clicks in the batch came with."""
    cursor.execute(
        f"SELECT DISTINCT {rollup_sql.dialect().user_agent} FROM {rollup_sql.dialect().rows}"
        f" WHERE NOT a.is_machine AND a.kind IN ('{Kind.OPENED}', '{Kind.CLICKED}')",
        [ids],
    )
    return [agent for (agent,) in cursor.fetchall()]
