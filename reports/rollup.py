# ruff: noqa: S608 - table and column names are this module's constants; every value is bound
"""Folding campaign events into the roll-up tables (reports.models), set by set.

Two feeds call :func:`roll_up`: the tracking drain's ``events_recorded`` signal for opens and
clicks (inside the transaction that inserted them), and :func:`catch_up` for the rest of a
campaign's history (sends, deliveries, bounces, complaints, unsubscribes), read from Activity
after a stored watermark. :func:`rebuild` replays Activity through the same function, so the
rebuilt figures are the incremental ones by construction.

Unique counts are exact because each (message, kind) pair is claimed once in ``FirstSeen``
with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``; counters grow with ``ON CONFLICT DO
UPDATE SET total = total + excluded.total``. The claims read the whole batch in one
statement (:func:`_batch`: arrays on PostgreSQL, a JSON array on SQLite); the statements
themselves read the same on both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connection, transaction

from campaigns.models import Message
from contacts.models import Activity
from contacts.timeline import device
from reports.models import (
    CampaignDeviceCount,
    CampaignDomainCount,
    CampaignHour,
    CampaignLinkCount,
    CampaignVariantCount,
    FirstSeen,
    MessageSeen,
)

Kind = Activity.Kind
ENGAGEMENT = (Kind.OPENED, Kind.CLICKED)
HISTORY = (
    Kind.SENT,
    Kind.DELIVERED,
    Kind.DEFERRED,
    Kind.FAILED,
    Kind.BOUNCED_HARD,
    Kind.BOUNCED_SOFT,
    Kind.COMPLAINED,
    Kind.UNSUBSCRIBED,
)
# A message bounced at all (hard or soft, once): what "delivered" subtracts from "sent".
BOUNCED = "bounced"
# MessageSeen's bit for each kind; the bit HUMAN places higher says "by a person".
BITS = {kind: 1 << position for position, kind in enumerate([*ENGAGEMENT, *HISTORY, BOUNCED])}
HUMAN = 20
BOUNCES = (Kind.BOUNCED_HARD, Kind.BOUNCED_SOFT)


@lru_cache(maxsize=4096)
def device_family(user_agent: str) -> str:
    """ "Outlook on Windows", "iPhone", ... or "Unknown"; cached, user agents repeat a lot."""
    words = device(user_agent).removeprefix("in ").removeprefix("on ")
    return words[:100] or "Unknown"


def roll_up(events: Sequence[dict[str, Any]]) -> None:
    """Add these newly recorded events (the shape of ``tracking.signals.recorded``) to the
    roll-ups; call it in the transaction that recorded them, once per event.

    Python only works out, per event, which of its unique counts are new (from the claims the
    database returns); the counting itself is one ``INSERT ... SELECT ... GROUP BY ... ON
    CONFLICT DO UPDATE`` per roll-up table over the batch, staged once in a temporary table
    joined to the messages' receiving domain and A/B arm (one statement in all on PostgreSQL)."""
    events = sorted((e for e in events if e["campaign_id"] is not None), key=lambda e: e["occurred_at"])
    if not events:
        return
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        prepared = [_prepare(event) for event in events]
        new_bits = _claim_bits(cursor, prepared)
        fresh_links = _claim(cursor, [key for row in prepared for key in row.link_keys])
        _count(cursor, [row.staged(new_bits, fresh_links) for row in prepared])


@dataclass(slots=True)
class _Event:
    """What the claims and the stage read of one event, worked out once."""

    campaign: int
    subject: int
    message: int | None
    kind: str
    is_machine: bool
    hour: str
    link: int | None
    url: str
    family: str | None
    bits: int
    link_keys: tuple[tuple[int, int, str], ...]

    def staged(self, new_bits: dict[tuple[int, int], int], fresh_links: set[tuple[int, int, str]]) -> list[Any]:
        """The stage row: this event's columns and which unique counts it is the first of.
        The first event of a batch to carry a new bit takes it; later ones find it taken."""
        taken = 0
        subject = (self.campaign, self.subject)
        available = new_bits.get(subject, 0)
        if available & self.bits:
            taken = available & self.bits
            new_bits[subject] = available & ~taken
        kind_bit = BITS[self.kind]
        first_link = [int(key in fresh_links) for key in self.link_keys]
        fresh_links.difference_update(self.link_keys)
        first_link += [0] * (2 - len(first_link))
        return [
            self.campaign,
            self.message,
            self.kind,
            self.is_machine,
            self.hour,
            self.link,
            self.url,
            self.family,
            int(bool(taken & kind_bit)),
            int(bool(taken & (kind_bit << HUMAN))),
            int(bool(taken & BITS[BOUNCED])),
            *first_link,
        ]


@lru_cache(maxsize=4096)
def _hour_text(hour: datetime) -> str:
    """An hour as the database stores it; cached, a batch spans few hours."""
    return str(connection.ops.adapt_datetimefield_value(hour))


def _prepare(event: dict[str, Any]) -> _Event:
    kind, human = event["kind"], not event["is_machine"]
    campaign = event["campaign_id"]
    subject = event["message_id"] if event["message_id"] is not None else -event["contact_id"]
    bits = BITS[kind] | (BITS[kind] << HUMAN if human else 0)
    if kind in BOUNCES:
        bits |= BITS[BOUNCED]
    link, keys = None, ()
    if kind == Kind.CLICKED:
        link = -1 if event["link_index"] is None else int(event["link_index"])
        keys = (
            ((campaign, subject, f"l{link}"), (campaign, subject, f"lh{link}"))
            if human
            else ((campaign, subject, f"l{link}"),)
        )
    family = device_family(event["user_agent"] or "") if human and kind in ENGAGEMENT else None
    return _Event(
        campaign,
        subject,
        event["message_id"],
        kind,
        not human,
        _hour_text(event["occurred_at"].replace(minute=0, second=0, microsecond=0)),
        link,
        event["link_url"] or "",
        family,
        bits,
        keys,
    )


def _claim_bits(cursor, prepared: list[_Event]) -> dict[tuple[int, int], int]:
    """Set the kind bits these events carry; returns, per (campaign, subject) that changed, the
    bits that were new.

    One set-based upsert for the whole batch: it ORs the bits in and returns what each changed
    row held before (``previous`` is set from the old row in the same UPDATE), so concurrent
    writers serialise on the row. A row whose bits are all known already is left alone and not
    returned: nothing of it is new (replays and repeated opens cost no row version)."""
    bits: dict[tuple[int, int], int] = {}
    for row in prepared:
        key = (row.campaign, row.subject)
        bits[key] = bits.get(key, 0) | row.bits
    table = MessageSeen._meta.db_table
    source, params = _batch(
        [("campaign_id", "bigint"), ("subject", "bigint"), ("flags", "bigint")],
        [[campaign, subject, flags] for (campaign, subject), flags in bits.items()],
    )
    cursor.execute(
        f"INSERT INTO {table} (campaign_id, subject, flags, previous) "
        f"SELECT campaign_id, subject, flags, 0 FROM {source} WHERE true "
        f"ON CONFLICT (campaign_id, subject) DO UPDATE SET previous = {table}.flags, "
        f"flags = {table}.flags | excluded.flags WHERE ({table}.flags | excluded.flags) <> {table}.flags "
        "RETURNING campaign_id, subject, previous",
        params,
    )
    return {(campaign, subject): bits[(campaign, subject)] & ~previous for campaign, subject, previous in cursor}


def _claim(cursor, keys: list[tuple[int, int, str]]) -> set[tuple[int, int, str]]:
    """Record each (campaign, subject, link key) as seen, in one statement; returns those that
    were not seen before."""
    if not keys:
        return set()
    table = FirstSeen._meta.db_table
    source, params = _batch(
        [("campaign_id", "bigint"), ("subject", "bigint"), ("key", "text")], [list(key) for key in dict.fromkeys(keys)]
    )
    cursor.execute(
        f"INSERT INTO {table} (campaign_id, subject, key) "
        f"SELECT campaign_id, subject, key FROM {source} WHERE true "
        "ON CONFLICT (campaign_id, subject, key) DO NOTHING RETURNING campaign_id, subject, key",
        params,
    )
    return {tuple(row) for row in cursor}


def _batch(columns: list[tuple[str, str]], rows: list[list[Any]]) -> tuple[str, list[Any]]:
    """A FROM item holding ``rows`` as a relation with these (name, type) columns, bound as one
    JSON parameter (an array of arrays): a batch of any size is one statement, clear of SQLite's
    limit on bound variables, and encoding it is one C call rather than an adapter per value.
    PostgreSQL parses it once (jsonb), then picks items by position at no further cost."""
    data = [json.dumps(rows, separators=(",", ":"))]
    if connection.vendor == "postgresql":
        picks = ", ".join(f"(value->>{at})::{kind} AS {name}" for at, (name, kind) in enumerate(columns))
        return f"(SELECT {picks} FROM jsonb_array_elements(%s::jsonb)) AS batch", data
    picks = ", ".join(f"json_extract(value, '$[{at}]') AS {name}" for at, (name, _) in enumerate(columns))
    return f"(SELECT {picks} FROM json_each(%s)) AS batch", data


STAGE = "reports_rollup_batch"
_STAGED = [
    ("campaign_id", "bigint"),
    ("message_id", "bigint"),
    ("kind", "text"),
    ("is_machine", "boolean"),
    ("hour", "timestamptz"),
    ("link", "integer"),
    ("url", "text"),
    ("family", "text"),
    ("first_any", "integer"),
    ("first_human", "integer"),
    ("first_bounced", "integer"),
    ("first_link", "integer"),
    ("first_link_human", "integer"),
]


def _count(cursor, rows: list[list[Any]]) -> None:
    """Stage the batch with each message's receiving domain and A/B arm, then run the count
    statements over it: on PostgreSQL all in one statement (the stage a materialised CTE, each
    upsert a data-modifying one), on SQLite through a temporary table."""
    postgresql = connection.vendor == "postgresql"
    columns = [(name, "text" if kind == "timestamptz" and not postgresql else kind) for name, kind in _STAGED]
    source, params = _batch(columns, rows)
    stage = (
        f"SELECT batch.*, COALESCE(m.domain, '') AS domain, m.variant FROM {source} "
        f"LEFT JOIN {Message._meta.db_table} m ON m.id = batch.message_id"
    )
    if postgresql:
        upserts = ", ".join(f"count{n} AS ({statement})" for n, statement in enumerate(_count_statements()))
        cursor.execute(f"WITH {STAGE} AS MATERIALIZED ({stage}), {upserts} SELECT 1", params)
        return
    definition = ", ".join(f"{name} {kind}" for name, kind in columns)
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} ({definition}, domain text, variant integer)")
    cursor.execute(f"INSERT INTO {STAGE} {stage}", params)
    for statement in _count_statements():
        cursor.execute(statement)
    cursor.execute(f"DELETE FROM {STAGE}")


@lru_cache(maxsize=1)
def _count_statements() -> list[str]:
    """One ``INSERT ... SELECT ... GROUP BY`` per roll-up table over the stage, adding to the
    counters already stored (the other columns are only written with a new row)."""
    bounces = f"kind IN ('{Kind.BOUNCED_HARD}', '{Kind.BOUNCED_SOFT}')"
    firsts = "COUNT(*), SUM(first_any), SUM(first_human)"
    return [
        _upsert(
            CampaignHour,
            ["campaign_id", "hour", "kind", "is_machine"],
            f"SELECT campaign_id, hour, kind, is_machine, {firsts} FROM {STAGE} GROUP BY campaign_id, hour, kind,"
            f" is_machine UNION ALL SELECT campaign_id, hour, '{BOUNCED}', false, COUNT(*), SUM(first_bounced), 0"
            f" FROM {STAGE} WHERE {bounces} GROUP BY campaign_id, hour",
        ),
        _upsert(
            CampaignDomainCount,
            ["campaign_id", "domain", "kind"],
            f"SELECT campaign_id, domain, kind, {firsts} FROM {STAGE} GROUP BY campaign_id, domain, kind"
            f" UNION ALL SELECT campaign_id, domain, '{BOUNCED}', COUNT(*), SUM(first_bounced), 0"
            f" FROM {STAGE} WHERE {bounces} GROUP BY campaign_id, domain",
        ),
        _upsert(
            CampaignVariantCount,
            ["campaign_id", "variant", "kind"],
            f"SELECT campaign_id, variant, kind, {firsts} FROM {STAGE} WHERE variant IS NOT NULL"
            " GROUP BY campaign_id, variant, kind",
        ),
        _upsert(
            CampaignLinkCount,
            ["campaign_id", "link_index", "url"],
            "SELECT campaign_id, link, COALESCE(MIN(NULLIF(url, '')), ''), COUNT(*),"
            " SUM(CASE WHEN is_machine THEN 0 ELSE 1 END), SUM(first_link), SUM(first_link_human)"
            f" FROM {STAGE} WHERE kind = '{Kind.CLICKED}' GROUP BY campaign_id, link",
            counters=["total", "total_human", "first_any", "first_human"],
            key_size=2,
        ),
        _upsert(
            CampaignDeviceCount,
            ["campaign_id", "family", "kind"],
            f"SELECT campaign_id, family, kind, COUNT(*), SUM(first_human) FROM {STAGE} WHERE family IS NOT NULL"
            " GROUP BY campaign_id, family, kind",
            counters=["total", "first_human"],
        ),
    ]


def _upsert(model, keys: list[str], select: str, counters: list[str] | None = None, key_size: int | None = None) -> str:
    """``keys`` are the conflict target (the first ``key_size`` of them; later ones are only
    written with a new row); the counters are added to those already stored."""
    table = model._meta.db_table
    counters = counters or ["total", "first_any", "first_human"]
    target = ", ".join(keys[: key_size or len(keys)])
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counters)
    # WHERE true: SQLite's parser needs it between an INSERT's SELECT and ON CONFLICT.
    return (
        f"INSERT INTO {table} ({', '.join(keys + counters)}) SELECT * FROM ({select}) AS counts WHERE true "
        f"ON CONFLICT ({target}) DO UPDATE SET {updates}"
    )


def from_activity(row: dict[str, Any]) -> dict[str, Any]:
    """An Activity row (``values()`` of :data:`ACTIVITY_FIELDS`) in the shape roll_up reads."""
    details = row["details"] or {}
    return {
        "contact_id": row["contact_id"],
        "kind": row["kind"],
        "occurred_at": row["occurred_at"],
        "campaign_id": row["campaign_id"],
        "message_id": row["message_id"],
        "link_index": details.get("link"),
        "link_url": row["link_url"],
        "user_agent": details.get("ua", ""),
        "is_machine": row["is_machine"],
    }


ACTIVITY_FIELDS = [
    "contact_id",
    "kind",
    "occurred_at",
    "campaign_id",
    "message_id",
    "link_url",
    "details",
    "is_machine",
]
