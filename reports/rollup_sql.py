# ruff: noqa: S608 - table and column names are this module's constants; every value is bound
"""The SQL of a roll-up batch (reports.rollup): the claim bits' layout, and the statement that
stages a batch of Activity rows, claims its unique counts and adds it to every counter, as one
statement on PostgreSQL and as steps over temporary tables on SQLite."""

from __future__ import annotations

from functools import lru_cache

from django.db import connection

from campaigns.models import Message
from contacts.models import Activity
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
# MessageSeen's bit for each kind; the bit HUMAN places higher says "by a person". Stored
# flags depend on these positions: append kinds, never reorder them.
BITS = {kind: 1 << position for position, kind in enumerate([*ENGAGEMENT, *HISTORY, BOUNCED])}
HUMAN = 20
# Links 0..LINK_BITS-1 are claimed in MessageSeen.links (bit n, and bit LINK_BITS + n by a
# person); any other link index in a FirstSeen row.
LINK_BITS = 31

STAGE = "reports_rollup_stage"
CLAIMED = "reports_rollup_claimed"
FRESH = "reports_rollup_fresh"
FIRSTS = "reports_rollup_firsts"
BATCH = "reports_rollup_batch"


class _Dialect:
    """The few expressions PostgreSQL and SQLite spell differently."""

    def __init__(self, postgresql: bool) -> None:
        # The batch's Activity rows, found by id alone: OFFSET 0 keeps PostgreSQL from also
        # answering the kind condition from its index, which (with an estimate out of date after
        # a burst of inserts) had it walk every open in that index to find a batch's rows.
        activity = Activity._meta.db_table
        self.rows = (
            f"(SELECT * FROM {activity} WHERE id = ANY(%s::bigint[]) OFFSET 0) AS a"
            if postgresql
            else f"(SELECT * FROM {activity} WHERE id IN (SELECT value FROM json_each(%s))) AS a"
        )
        # PostgreSQL, a dense batch: the id range read in order, the batch's ids picked out of it
        # (``+ 0`` keeps the list from being used as index lookups, one per id).
        self.rows_in_range = (
            f"(SELECT * FROM {activity} WHERE id BETWEEN %s AND %s AND id + 0 = ANY(%s::bigint[]) OFFSET 0) AS a"
            if postgresql
            else self.rows
        )
        self.user_agent = (
            "COALESCE(a.details->>'ua', '')" if postgresql else "COALESCE(json_extract(a.details, '$.ua'), '')"
        )
        link = "(a.details->>'link')::integer" if postgresql else "json_extract(a.details, '$.link')"
        self.link = f"COALESCE({link}, -1)"
        self.hour = (
            "date_trunc('hour', a.occurred_at)" if postgresql else "strftime('%%Y-%%m-%%d %%H:00:00', a.occurred_at)"
        )
        self.families = "jsonb_each_text(%s::jsonb)" if postgresql else "json_each(%s)"
        # The subject's claim row, which also keeps its message's receiving domain and A/B arm:
        # one index lookup per row (on PostgreSQL, LIMIT keeps the planner from turning it into a
        # join that walks all of the campaign's claims).
        seen = MessageSeen._meta.db_table
        self.known_join = (
            f"LEFT JOIN LATERAL (SELECT flags, links, domain, variant FROM {seen} WHERE campaign_id = e.campaign_id"
            " AND subject = e.subject LIMIT 1) AS known ON true"
            if postgresql
            else f"LEFT JOIN {seen} known ON known.campaign_id = e.campaign_id AND known.subject = e.subject"
        )


@lru_cache(maxsize=2)
def _dialect(postgresql: bool) -> _Dialect:
    return _Dialect(postgresql)


def dialect() -> _Dialect:
    """The expressions of the connection's database."""
    return _dialect(connection.vendor == "postgresql")


def _stage(rows: str) -> str:
    """The batch's rows with what the claims and counts read: subject (the message, or without
    one the contact as a negative id), hour, link, device family, receiving domain, A/B arm, and
    the claim bits each row carries."""
    sql = dialect()
    kind_bit = "CASE a.kind " + " ".join(f"WHEN '{kind}' THEN {bit}" for kind, bit in BITS.items() if kind != BOUNCED)
    bounce = f"a.kind IN ('{Kind.BOUNCED_HARD}', '{Kind.BOUNCED_SOFT}')"
    kinds = ", ".join(f"'{kind}'" for kind in (*ENGAGEMENT, *HISTORY))
    link_in_bits = f"a.kind = '{Kind.CLICKED}' AND {sql.link} BETWEEN 0 AND {LINK_BITS - 1}"
    events = (
        "SELECT a.id, a.campaign_id, COALESCE(a.message_id, -a.contact_id) AS subject, a.message_id, a.kind,"
        f" a.is_machine, {sql.hour} AS hour, CASE WHEN a.kind = '{Kind.CLICKED}' THEN {sql.link} END AS link,"
        f" a.link_url AS url, {sql.user_agent} AS ua, CAST({kind_bit} END AS bigint) AS kind_bit,"
        f" CAST(CASE WHEN a.is_machine THEN 0 ELSE ({kind_bit} END) * {1 << HUMAN} END AS bigint) AS human_bit,"
        f" CAST(CASE WHEN {bounce} THEN {BITS[BOUNCED]} ELSE 0 END AS bigint) AS bounced_bit,"
        f" CASE WHEN {link_in_bits} THEN CAST(1 AS bigint) << {sql.link} ELSE 0 END AS link_bit,"
        f" CASE WHEN {link_in_bits} AND NOT a.is_machine THEN CAST(1 AS bigint) << ({LINK_BITS} + {sql.link})"
        " ELSE 0 END AS link_human_bit"
        f" FROM {rows} WHERE a.campaign_id IS NOT NULL AND a.kind IN ({kinds})"
    )
    # Only a subject without a claim row yet (or one claimed before rows kept the domain) has
    # its message looked up.
    message = f"(SELECT {{}} FROM {Message._meta.db_table} WHERE id = e.message_id)"
    return (
        "SELECT e.id, e.campaign_id, e.subject, e.kind, e.is_machine, e.hour, e.link, e.url, e.kind_bit,"
        " e.human_bit, e.bounced_bit, e.link_bit, e.link_human_bit, known.flags AS known_flags,"
        " known.links AS known_links,"
        " CASE WHEN known.domain IS NULL THEN 1 ELSE 0 END AS unkept,"
        f" CASE WHEN known.domain IS NULL THEN COALESCE({message.format('domain')}, '') ELSE known.domain END"
        f" AS domain, CASE WHEN known.domain IS NULL THEN {message.format('variant')} ELSE known.variant END"
        f" AS variant, CASE WHEN e.kind IN ('{Kind.OPENED}', '{Kind.CLICKED}') AND NOT e.is_machine"
        " THEN COALESCE(f.value, 'Unknown') END AS family"
        f" FROM ({events}) AS e {sql.known_join} LEFT JOIN {sql.families} f ON f.key = e.ua"
    )


def _subject_bits(postgresql: bool) -> str:
    """The bits each subject's rows carry, OR-ed, over the rows that bring a bit its claim row
    lacks (in a stream of repeat opens, few). SQLite has no bit_or: there each part is a sum of
    distinct powers of two (slower, as DISTINCT sorts every group)."""
    bits, links = (
        ("bit_or(kind_bit | human_bit | bounced_bit)", "bit_or(link_bit | link_human_bit)")
        if postgresql
        else (
            "SUM(DISTINCT kind_bit) + SUM(DISTINCT human_bit) + MAX(bounced_bit)",
            "SUM(DISTINCT link_bit) + SUM(DISTINCT link_human_bit)",
        )
    )
    return (
        f"SELECT campaign_id, subject, {bits} AS bits, {links} AS links, MIN(known_flags) AS known,"
        " MIN(known_links) AS known_links, MAX(unkept) AS unkept, MIN(domain) AS domain, MIN(variant) AS variant"
        f" FROM {STAGE} WHERE unkept = 1 OR (known_flags | kind_bit | human_bit | bounced_bit) <> known_flags"
        " OR (known_links | link_bit | link_human_bit) <> known_links GROUP BY campaign_id, subject"
    )


# Clicks on a link with no bit of its own (an index past the bits, or none: -1).
_LINK_KEYS = (
    f"SELECT campaign_id, subject, 'l' || link AS key FROM {STAGE} WHERE link_bit = 0 AND link IS NOT NULL UNION"
    f" SELECT campaign_id, subject, 'lh' || link FROM {STAGE} WHERE link_bit = 0 AND link IS NOT NULL"
    " AND NOT is_machine"
)


def _firsts(new_claims: str) -> str:
    """The rows that are the first of a new claim: of their subject's rows of their kind (by
    anyone, by a person), of its bounces, of its clicks on their link (by anyone, by a person).
    Only subjects with a new claim are looked at: in a steady stream of repeat opens, few."""

    def first(row_is_first: str, claim_is_new: str) -> str:
        return f"CASE WHEN {row_is_first} AND {claim_is_new} THEN 1 ELSE 0 END"

    by_kind = "OVER (PARTITION BY s.campaign_id, s.subject, s.kind)"
    by_link = "OVER (PARTITION BY s.campaign_id, s.subject, s.link)"
    by_subject = "OVER (PARTITION BY s.campaign_id, s.subject)"
    by_key = "OVER (PARTITION BY s.campaign_id, s.subject, l.key)"
    any_ = first(f"s.id = MIN(s.id) {by_kind}", "(c.new_bits & s.kind_bit) <> 0")
    human = first(f"s.id = MIN(CASE WHEN NOT s.is_machine THEN s.id END) {by_kind}", "(c.new_bits & s.human_bit) <> 0")
    bounced = first(
        f"s.id = MIN(CASE WHEN s.bounced_bit <> 0 THEN s.id END) {by_subject}", "(c.new_bits & s.bounced_bit) <> 0"
    )
    link_bit = first(f"s.id = MIN(s.id) {by_link}", "(c.new_links & s.link_bit) <> 0")
    link_human_bit = first(
        f"s.id = MIN(CASE WHEN NOT s.is_machine THEN s.id END) {by_link}", "(c.new_links & s.link_human_bit) <> 0"
    )
    subjects = (
        f"SELECT s.id, {any_} AS any_, {human} AS human, {bounced} AS bounced, {link_bit} AS link,"
        f" {link_human_bit} AS link_human"
        f" FROM {STAGE} s JOIN {CLAIMED} c ON c.campaign_id = s.campaign_id AND c.subject = s.subject"
        f" WHERE {new_claims}"
    )
    link = first(f"s.id = MIN(s.id) {by_key}", "l.key = 'l' || s.link")
    link_human = first(f"s.id = MIN(s.id) {by_key}", "l.key = 'lh' || s.link")
    links = (
        f"SELECT s.id, 0, 0, 0, {link}, {link_human}"
        f" FROM {STAGE} s JOIN {FRESH} l ON l.campaign_id = s.campaign_id AND l.subject = s.subject"
        " AND (l.key = 'l' || s.link OR (l.key = 'lh' || s.link AND NOT s.is_machine))"
    )
    return (
        "SELECT id, MAX(any_) AS first_any, MAX(human) AS first_human, MAX(bounced) AS first_bounced,"
        f" MAX(link) AS first_link, MAX(link_human) AS first_link_human FROM ({subjects} UNION ALL {links}) AS marks"
        " GROUP BY id"
    )


# The batch counted once at the finest grain the roll-ups need (a few hundred groups at most),
# which each roll-up then sums to its own.
_BATCH = (
    "SELECT s.campaign_id, s.hour, s.kind, s.is_machine, s.domain, s.variant, s.link, s.family,"
    " MIN(NULLIF(s.url, '')) AS url, COUNT(*) AS total, SUM(COALESCE(f.first_any, 0)) AS first_any,"
    " SUM(COALESCE(f.first_human, 0)) AS first_human, SUM(COALESCE(f.first_bounced, 0)) AS first_bounced,"
    " SUM(COALESCE(f.first_link, 0)) AS first_link, SUM(COALESCE(f.first_link_human, 0)) AS first_link_human"
    f" FROM {STAGE} s LEFT JOIN {FIRSTS} f ON f.id = s.id"
    " GROUP BY s.campaign_id, s.hour, s.kind, s.is_machine, s.domain, s.variant, s.link, s.family"
)


_CLAIM_INSERT = (
    f"INSERT INTO {MessageSeen._meta.db_table} (campaign_id, subject, flags, previous, links, previous_links,"
    " domain, variant) SELECT campaign_id, subject, bits, 0, links, 0, domain, variant"
)


def _claim_update(seen: str) -> str:
    """Add the new bits to a claim row, keeping what they were; a row from before claim rows kept
    the message's domain and arm gets them now (so each old row is looked up once more at most)."""
    return (
        f"ON CONFLICT (campaign_id, subject) DO UPDATE SET previous = {seen}.flags,"
        f" flags = {seen}.flags | excluded.flags, previous_links = {seen}.links, links = {seen}.links | excluded.links,"
        f" domain = COALESCE({seen}.domain, excluded.domain),"
        f" variant = CASE WHEN {seen}.domain IS NULL THEN excluded.variant ELSE {seen}.variant END"
    )


@lru_cache(maxsize=2)
def postgresql_statement(dense: bool) -> str:
    """Everything in one statement: the stage and the batch are materialised CTEs, each claim
    and each counter a data-modifying one."""
    seen, first_seen = MessageSeen._meta.db_table, FirstSeen._meta.db_table
    claims = (
        # Subjects whose bits were all known when the stage read them are left out: the upsert
        # would lock (and so write) their rows only to change nothing.
        f"{_CLAIM_INSERT} FROM ({_subject_bits(True)}) AS b"
        " WHERE known IS NULL OR (known | bits) <> known OR (known_links | links) <> known_links OR unkept = 1"
        f" {_claim_update(seen)} WHERE ({seen}.flags | excluded.flags) <> {seen}.flags"
        f" OR ({seen}.links | excluded.links) <> {seen}.links OR {seen}.domain IS NULL"
        " RETURNING campaign_id, subject, flags & ~previous AS new_bits, links & ~previous_links AS new_links"
    )
    fresh = (
        f"INSERT INTO {first_seen} (campaign_id, subject, key) {_LINK_KEYS}"
        " ON CONFLICT (campaign_id, subject, key) DO NOTHING RETURNING campaign_id, subject, key"
    )
    counts = ", ".join(f"count{n} AS ({statement})" for n, statement in enumerate(_count_statements()))
    stage = _stage(_dialect(True).rows_in_range if dense else _dialect(True).rows)
    return (
        f"WITH {STAGE} AS MATERIALIZED ({stage}), {CLAIMED} AS ({claims}), {FRESH} AS ({fresh}),"
        f" {FIRSTS} AS ({_firsts('true')}), {BATCH} AS MATERIALIZED ({_BATCH}), {counts} SELECT 1"
    )


@lru_cache(maxsize=1)
def sqlite_statements() -> list[tuple[str, bool]]:
    """The same parts in order, each claim read before it is written (SQLite has one writer at a
    time, and the drain's transaction holds it): (statement, whether it takes the batch)."""
    seen, first_seen = MessageSeen._meta.db_table, FirstSeen._meta.db_table
    claims = (
        "SELECT *, bits & ~COALESCE(known, 0) AS new_bits, links & ~COALESCE(known_links, 0) AS new_links"
        f" FROM ({_subject_bits(False)}) AS b"
    )
    fresh = (
        f"SELECT * FROM ({_LINK_KEYS}) AS k WHERE NOT EXISTS (SELECT 1 FROM {first_seen} f"
        " WHERE f.campaign_id = k.campaign_id AND f.subject = k.subject AND f.key = k.key)"
    )
    return [
        *((f"DROP TABLE IF EXISTS temp.{name}", False) for name in (STAGE, CLAIMED, FRESH, FIRSTS, BATCH)),
        (f"CREATE TEMPORARY TABLE {STAGE} AS {_stage(_dialect(False).rows)}", True),
        (f"CREATE TEMPORARY TABLE {CLAIMED} AS {claims}", False),
        (
            f"{_CLAIM_INSERT} FROM {CLAIMED} WHERE new_bits <> 0 OR new_links <> 0 OR unkept = 1 {_claim_update(seen)}",
            False,
        ),
        (f"CREATE TEMPORARY TABLE {FRESH} AS {fresh}", False),
        (f"INSERT INTO {first_seen} (campaign_id, subject, key) SELECT campaign_id, subject, key FROM {FRESH}", False),
        (f"CREATE TEMPORARY TABLE {FIRSTS} AS {_firsts('c.new_bits <> 0 OR c.new_links <> 0')}", False),
        (f"CREATE TEMPORARY TABLE {BATCH} AS {_BATCH}", False),
        *((statement, False) for statement in _count_statements()),
    ]


@lru_cache(maxsize=1)
def _count_statements() -> list[str]:
    """One ``INSERT ... SELECT ... GROUP BY`` per roll-up table over the batch, adding to the
    counters already stored (the other columns are only written with a new row)."""
    bounces = f"kind IN ('{Kind.BOUNCED_HARD}', '{Kind.BOUNCED_SOFT}')"
    firsts = "SUM(total), SUM(first_any), SUM(first_human)"
    return [
        _upsert(
            CampaignHour,
            ["campaign_id", "hour", "kind", "is_machine"],
            f"SELECT campaign_id, hour, kind, is_machine, {firsts} FROM {BATCH} GROUP BY campaign_id, hour, kind,"
            f" is_machine UNION ALL SELECT campaign_id, hour, '{BOUNCED}', false, SUM(total), SUM(first_bounced), 0"
            f" FROM {BATCH} WHERE {bounces} GROUP BY campaign_id, hour",
        ),
        _upsert(
            CampaignDomainCount,
            ["campaign_id", "domain", "kind"],
            f"SELECT campaign_id, domain, kind, {firsts} FROM {BATCH} GROUP BY campaign_id, domain, kind"
            f" UNION ALL SELECT campaign_id, domain, '{BOUNCED}', SUM(total), SUM(first_bounced), 0"
            f" FROM {BATCH} WHERE {bounces} GROUP BY campaign_id, domain",
        ),
        _upsert(
            CampaignVariantCount,
            ["campaign_id", "variant", "kind"],
            f"SELECT campaign_id, variant, kind, {firsts} FROM {BATCH} WHERE variant IS NOT NULL"
            " GROUP BY campaign_id, variant, kind",
        ),
        _upsert(
            CampaignLinkCount,
            ["campaign_id", "link_index", "url"],
            "SELECT campaign_id, link, COALESCE(MIN(url), ''), SUM(total),"
            " SUM(CASE WHEN is_machine THEN 0 ELSE total END), SUM(first_link), SUM(first_link_human)"
            f" FROM {BATCH} WHERE kind = '{Kind.CLICKED}' GROUP BY campaign_id, link",
            counters=["total", "total_human", "first_any", "first_human"],
            key_size=2,
        ),
        _upsert(
            CampaignDeviceCount,
            ["campaign_id", "family", "kind"],
            f"SELECT campaign_id, family, kind, SUM(total), SUM(first_human) FROM {BATCH} WHERE family IS NOT NULL"
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
