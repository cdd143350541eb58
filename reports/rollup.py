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
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from django.db import connection

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
_CHUNK = 400


@lru_cache(maxsize=4096)
def device_family(user_agent: str) -> str:
    """ "Outlook on Windows", "iPhone", ... or "Unknown"; cached, user agents repeat a lot."""
    words = device(user_agent).removeprefix("in ").removeprefix("on ")
    return words[:100] or "Unknown"


def roll_up(events: Sequence[dict[str, Any]]) -> None:
    """Add these newly recorded events (the shape of ``tracking.signals.recorded``) to the
    roll-ups; call it in the transaction that recorded them, once per event."""
    events = sorted((e for e in events if e["campaign_id"] is not None), key=lambda e: e["occurred_at"])
    if not events:
        return
    messages = _messages({e["message_id"] for e in events if e["message_id"] is not None})
    # Each event's claim keys, worked out once: the claims and the counting both read them.
    claims = [[(e["campaign_id"], _subject(e), key) for key in _keys(e)] for e in events]
    wanted = {claim: None for keys in claims for claim in keys}
    fresh = _claim_bits(wanted) | _claim([key for key in wanted if _is_link(key[2])])
    counts = _Counts()
    for event, keys in zip(events, claims, strict=True):
        seen = {claim[2] for claim in keys if fresh.pop(claim, False)}
        counts.add(event, *messages.get(event["message_id"], ("", None)), seen)
    counts.write()


def _subject(event: dict[str, Any]) -> int:
    return event["message_id"] if event["message_id"] is not None else -event["contact_id"]


def _keys(event: dict[str, Any]) -> list[str]:
    kind = event["kind"]
    keys = [kind]
    if not event["is_machine"]:
        keys.append(f"{kind}:h")
    if kind == Kind.CLICKED:
        link = _link(event)
        keys.append(f"l{link}")
        if not event["is_machine"]:
            keys.append(f"lh{link}")
    if kind in (Kind.BOUNCED_HARD, Kind.BOUNCED_SOFT):
        keys.append(BOUNCED)
    return keys


def _link(event: dict[str, Any]) -> int:
    return -1 if event["link_index"] is None else int(event["link_index"])


class _Counts:
    """Increments per roll-up key, gathered in memory and written in a few statements."""

    def __init__(self) -> None:
        self.hours: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.links: dict[tuple, list[Any]] = defaultdict(lambda: ["", 0, 0, 0, 0])
        self.domains: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.variants: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.devices: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, event: dict[str, Any], domain: str, variant: int | None, seen: set[str]) -> None:
        campaign, kind, human = event["campaign_id"], event["kind"], not event["is_machine"]
        hour = event["occurred_at"].replace(minute=0, second=0, microsecond=0)
        first, first_human = int(kind in seen), int(f"{kind}:h" in seen)
        _bump(self.hours[(campaign, hour, kind, event["is_machine"])], 1, first, first_human)
        _bump(self.domains[(campaign, domain, kind)], 1, first, first_human)
        if variant is not None:
            _bump(self.variants[(campaign, variant, kind)], 1, first, first_human)
        if BOUNCED in seen or kind in (Kind.BOUNCED_HARD, Kind.BOUNCED_SOFT):
            flag = int(BOUNCED in seen)
            _bump(self.hours[(campaign, hour, BOUNCED, False)], 1, flag, 0)
            _bump(self.domains[(campaign, domain, BOUNCED)], 1, flag, 0)
        if kind == Kind.CLICKED:
            link = _link(event)
            row = self.links[(campaign, link)]
            row[0] = row[0] or event["link_url"]
            _bump(row, 1, int(human), int(f"l{link}" in seen), int(f"lh{link}" in seen), offset=1)
        if human and kind in ENGAGEMENT:
            _bump(self.devices[(campaign, device_family(event["user_agent"] or ""), kind)], 1, first_human)

    def write(self) -> None:
        adapt = connection.ops.adapt_datetimefield_value
        _increment(
            CampaignHour,
            ["campaign_id", "hour", "kind", "is_machine"],
            ["total", "first_any", "first_human"],
            [(c, adapt(h), k, m, *v) for (c, h, k, m), v in self.hours.items()],
        )
        _increment(
            CampaignDomainCount,
            ["campaign_id", "domain", "kind"],
            ["total", "first_any", "first_human"],
            [(*key, *v) for key, v in self.domains.items()],
        )
        _increment(
            CampaignVariantCount,
            ["campaign_id", "variant", "kind"],
            ["total", "first_any", "first_human"],
            [(*key, *v) for key, v in self.variants.items()],
        )
        _increment(
            CampaignLinkCount,
            ["campaign_id", "link_index", "url"],
            ["total", "total_human", "first_any", "first_human"],
            [(c, link, *v) for (c, link), v in self.links.items()],
            key_size=2,
        )
        _increment(
            CampaignDeviceCount,
            ["campaign_id", "family", "kind"],
            ["total", "first_human"],
            [(*key, *v) for key, v in self.devices.items()],
        )


def _bump(row: list, *values: int, offset: int = 0) -> None:
    for position, value in enumerate(values, start=offset):
        row[position] += value


def _increment(model, keys: list[str], counters: list[str], rows: list[tuple], key_size: int | None = None) -> None:
    """Upsert rows, adding the counters to those already stored. ``keys`` are the conflict
    target (the first ``key_size`` of them; later ones are only written on insert)."""
    if not rows:
        return
    table = model._meta.db_table
    target = ", ".join(keys[: key_size or len(keys)])
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counters)
    width = len(keys) + len(counters)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(keys + counters)}) VALUES {values} "  # noqa: S608 - names only
                f"ON CONFLICT ({target}) DO UPDATE SET {updates}",
                [value for row in chunk for value in row],
            )


def _is_link(key: str) -> bool:
    return key.partition(":")[0] not in BITS


def _bit(key: str) -> int:
    kind, _, human = key.partition(":")
    return BITS[kind] << HUMAN if human else BITS[kind]


def _claim_bits(wanted: dict[tuple[int, int, str], None]) -> dict[tuple[int, int, str], bool]:
    """Set the kind bits these events carry; returns the (campaign, subject, key) that were new.

    One set-based upsert for the whole batch: it ORs the bits in and returns what each changed
    row held before (``previous`` is set from the old row in the same UPDATE), so concurrent
    writers serialise on the row. A row whose bits are all known already is left alone and not
    returned: nothing of it is new (replays and repeated opens cost no row version)."""
    bits: dict[tuple[int, int], int] = {}
    for campaign, subject, key in wanted:
        if not _is_link(key):
            bits[(campaign, subject)] = bits.get((campaign, subject), 0) | _bit(key)
    if not bits:
        return {}
    table = MessageSeen._meta.db_table
    source, params = _batch(
        [("campaign_id", "bigint"), ("subject", "bigint"), ("flags", "bigint")],
        [(campaign, subject, flags) for (campaign, subject), flags in bits.items()],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, subject, flags, previous) "  # noqa: S608 - names only
            f"SELECT campaign_id, subject, flags, 0 FROM {source} WHERE true "
            f"ON CONFLICT (campaign_id, subject) DO UPDATE SET previous = {table}.flags, "
            f"flags = {table}.flags | excluded.flags WHERE ({table}.flags | excluded.flags) <> {table}.flags "
            "RETURNING campaign_id, subject, previous",
            params,
        )
        changed = {(campaign, subject): previous for campaign, subject, previous in cursor.fetchall()}
    return {
        (campaign, subject, key): True
        for campaign, subject, key in wanted
        if not _is_link(key) and (campaign, subject) in changed and not changed[(campaign, subject)] & _bit(key)
    }


def _claim(keys: list[tuple[int, int, str]]) -> dict[tuple[int, int, str], bool]:
    """Record each (campaign, subject, key) as seen, in one statement; returns those that were
    not seen before."""
    if not keys:
        return {}
    table = FirstSeen._meta.db_table
    source, params = _batch([("campaign_id", "bigint"), ("subject", "bigint"), ("key", "text")], keys)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, subject, key) "  # noqa: S608 - names only
            f"SELECT campaign_id, subject, key FROM {source} WHERE true "
            "ON CONFLICT (campaign_id, subject, key) DO NOTHING RETURNING campaign_id, subject, key",
            params,
        )
        return {tuple(row): True for row in cursor.fetchall()}


def _batch(columns: list[tuple[str, str]], rows: list[tuple]) -> tuple[str, list[Any]]:
    """A FROM item holding ``rows`` as a relation with these (name, type) columns, bound as one
    parameter per column (PostgreSQL arrays) or one in all (a JSON array on SQLite): a batch of
    any size is one statement, clear of SQLite's limit on bound variables."""
    names = ", ".join(name for name, _ in columns)
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
        return f"unnest({arrays}) AS batch ({names})", [list(column) for column in zip(*rows, strict=True)]
    picks = ", ".join(f"json_extract(value, '$[{position}]') AS {name}" for position, (name, _) in enumerate(columns))
    return f"(SELECT {picks} FROM json_each(%s)) AS batch", [json.dumps(rows)]  # noqa: S608 - names only


def _messages(message_ids: Iterable[int]) -> dict[int, tuple[str, int]]:
    """Receiving domain and A/B arm of each message still stored, in one statement."""
    ids = [(pk,) for pk in message_ids]
    if not ids:
        return {}
    source, params = _batch([("message_id", "bigint")], ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.id, m.domain, m.variant FROM {Message._meta.db_table} m "  # noqa: S608 - names only
            f"JOIN {source} ON m.id = batch.message_id",
            params,
        )
        return {pk: (domain, variant) for pk, domain, variant in cursor.fetchall()}


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
