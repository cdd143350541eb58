"""The step engine: claim a batch of due enrolments with a lease, execute each step for
the whole group at that step (set-based), record and move on in one transaction.

Exactly once: a step's effect (Messages queued, tags, tasks...) commits together with its
StepRun rows, whose primary key (enrolment, step) refuses a second run; a worker killed
mid-batch rolls all of it back and its claim lapses after JOURNEY_LEASE_SECONDS, when the
next tick's workers claim the batch again. Waits are rows with a due time, never countdowns.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from automations import actions, runs
from automations.actions import Group, NotYetError, Outcome
from automations.enrolment import suppressed
from automations.models import Enrolment, Journey, JourneyVersion
from automations.steps import plan
from contacts.models import Contact

log = logging.getLogger(__name__)
State = Enrolment.State


def claim(limit: int | None = None) -> list[tuple[int, int, str, int, datetime]]:
    """Move up to ``limit`` enrolments of live journeys to running, with a lease: first those whose
    lease lapsed, then due ones oldest first. Each is one conditional UPDATE walking a partial index
    in order, so a claim reads about ``limit`` index entries however many are due (an OR of both
    conditions was planned as a bitmap of every due row, rebuilt on each claim).
    Returns (id, version id, step, contact id, due_at) of those this call got."""
    now = timezone.now()
    size = limit or settings.JOURNEY_BATCH_SIZE
    lease = now + timedelta(seconds=settings.JOURNEY_LEASE_SECONDS)
    rows = _claim("running", "lease_until", now, lease, size)
    if len(rows) < size:
        rows += _claim("waiting", "due_at", now, lease, size - len(rows))
    return [(*row[:4], _aware(row[4])) for row in rows]


def due(limit: int) -> int:
    """How many enrolments a claim would get now, up to ``limit``, counted along the same partial
    indexes in order: an OR of both conditions is planned as a bitmap of every entry, the dead
    ones too, which after a million-contact run took a tick longer than the tick interval."""
    now = timezone.now()
    live = Enrolment.objects.filter(journey__status=Journey.Status.LIVE)
    lapsed = live.filter(state=State.RUNNING, lease_until__lte=now).order_by("lease_until")[:limit].count()
    if lapsed >= limit:
        return lapsed
    return lapsed + live.filter(state=State.WAITING, due_at__lte=now).order_by("due_at")[: limit - lapsed].count()


def _claim(state: str, column: str, now: datetime, lease: datetime, size: int) -> list[tuple]:
    table = connection.ops.quote_name(Enrolment._meta.db_table)
    journeys = connection.ops.quote_name(Journey._meta.db_table)
    lock = " FOR UPDATE OF e SKIP LOCKED" if connection.vendor == "postgresql" else ""
    # Only our own fragments are interpolated; values are parameters.
    sql = (
        f"UPDATE {table} SET state = 'running', lease_until = %s WHERE id IN ("  # noqa: S608
        f"SELECT e.id FROM {table} e WHERE e.state = %s AND e.{column} <= %s "
        f"AND e.journey_id IN (SELECT j.id FROM {journeys} j WHERE j.status = 'live') "
        f"ORDER BY e.{column} LIMIT %s{lock}) "
        f"RETURNING id, version_id, step, contact_id, due_at"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [lease, state, now, size])
        return cursor.fetchall()


def _aware(value: datetime | str) -> datetime:
    """SQLite's RETURNING gives the stored UTC text; PostgreSQL an aware datetime."""
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


def advance(max_seconds: float = 30.0) -> int:
    """Claim and execute batches until nothing is due or ``max_seconds`` passed; returns contact-steps run."""
    started, done = time.monotonic(), 0
    while time.monotonic() - started < max_seconds:
        batch = claim()
        if not batch:
            break
        done += run_batch(batch)
    return done


def run_batch(batch: list[tuple[int, int, str, int, datetime]]) -> int:
    """Execute one claimed batch, one group per (version, step); enrolments whose next step is
    due at once stay claimed and run it in the same call (a claim and a move saved per step).
    Returns contact-steps executed."""
    groups: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
    due: dict[tuple[int, str], datetime] = {}
    for pk, version_id, step, contact_id, due_at in batch:
        groups[(version_id, step)][pk] = contact_id
        due[(version_id, step)] = max(due.get((version_id, step), due_at), due_at)
    versions = JourneyVersion.objects.select_related("journey").in_bulk({version for version, _ in groups})
    # Once per claim: the steps run next in this call follow within seconds.
    gone = actions.leaving([contact for _, _, _, contact, _ in batch])
    executed = 0
    while groups:
        onward: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
        for (version_id, key), rows in groups.items():
            version = versions[version_id]
            group = Group(version, plan(version.definition), key, rows, due[(version_id, key)])
            executed += execute_safely(group, gone)
            for next_key, moved in group.onward.items():
                onward[(version_id, next_key)].update(moved)
                due[(version_id, next_key)] = timezone.now()
        groups, gone = onward, set()
    return executed


def execute_safely(group: Group, gone: set[int]) -> int:
    """Execute a group; a step that raises fails its enrolments (recorded) instead of retrying for ever."""
    try:
        with transaction.atomic():
            return execute(group, gone)
    except NotYetError as wait:
        group.onward = {}
        runs.release(list(group.rows), wait.until)
        return 0
    except Exception as error:
        group.onward = {}
        log.exception("journey %s step %s failed", group.version.journey_id, group.key)
        with transaction.atomic():
            owned = runs.record(_running(group.rows, group.key), Outcome.FAILED)
            runs.move(owned, group.key, None, state=State.FAILED)
        log.warning("journey %s step %s: %s", group.version.journey_id, group.key, error)
        return len(owned)


def _running(ids, key: str) -> QuerySet:
    """Enrolments of this claim still at ``key`` (a lapsed claim's rows may have moved on)."""
    return Enrolment.objects.filter(pk__in=list(ids), state=State.RUNNING, step=key)


def execute(group: Group, gone: set[int]) -> int:
    """Leave (the contacts of ``gone`` among the group's), goals, then the step itself, each outcome
    one INSERT of step runs and one UPDATE."""
    key, rows = group.key, group.rows
    gone = gone & set(rows.values())
    if gone:
        ids = group.enrolments_of(gone)
        runs.record(_running(ids, key), Outcome.LEFT)
        runs.move(ids, key, None, state=State.EXITED)
        rows = {pk: contact for pk, contact in rows.items() if contact not in gone}
    for goal in group.plan.goals():
        reached = actions.matching(list(rows.values()), goal.step["segment"]) if rows else set()
        if reached and goal.step["key"] != key:
            ids = [pk for pk, contact in rows.items() if contact in reached]
            runs.record(_running(ids, key), Outcome.GOAL, step=goal.step["key"])
            runs.move(ids, key, None)
            rows = {pk: contact for pk, contact in rows.items() if contact not in reached}
    group.rows = rows
    executed = len(gone)
    for outcome, ids in actions.partition(group).items() if rows else []:
        owned = runs.record(_running(ids, key), outcome)
        actions.apply(group, outcome, owned)
        _move_on(group, outcome, owned)
        executed += len(owned)
    return executed


def _move_on(group: Group, outcome: int, owned: set[int]) -> None:
    node, key = group.node, group.key
    if node.kind == "exit":
        runs.move(owned, key, None, state=State.EXITED)
    elif outcome == Outcome.GOAL:
        runs.move(owned, key, None)
    elif outcome in (Outcome.YES, Outcome.NO) and node.branches:
        _onward(group, owned, node.branches["yes" if outcome == Outcome.YES else "no"])
    elif node.kind == "wait" and node.after is not None:
        _move_after_wait(group, owned)
    else:
        _onward(group, owned, node.after)


def _onward(group: Group, owned, to: str | None, due_at: datetime | None = None) -> None:
    """Move on to ``to``; when it is due already, keep the claim and run it in this batch."""
    if to is None or (due_at is not None and due_at > timezone.now()):
        runs.move(owned, group.key, to, due_at)
        return
    runs.move(owned, group.key, to, due_at, hold=True)
    group.onward.setdefault(to, {}).update((pk, group.rows[pk]) for pk in owned)


def _move_after_wait(group: Group, owned: set[int]) -> None:
    """One UPDATE per time zone among the group's contacts (one in all for a plain duration)."""
    now, step = timezone.now(), group.step
    if "hour" not in step:
        _onward(group, owned, group.node.after, actions.wait_until(step, now, ""))
        return
    zones: dict[str, list[int]] = defaultdict(list)
    contact_zone = dict(Contact.objects.filter(pk__in=group.contacts(owned)).values_list("pk", "time_zone"))
    for pk in owned:
        zones[contact_zone.get(group.rows[pk], "")].append(pk)
    for zone, ids in zones.items():
        _onward(group, ids, group.node.after, actions.wait_until(step, now, zone))


def leave_unsubscribed() -> int:
    """Everyone unsubscribed, bounced, complained or suppressed leaves every journey at once
    (waiting enrolments; running ones leave when their step executes)."""
    gone = Enrolment.objects.filter(state=State.WAITING).filter(
        ~Q(contact__status=Contact.Status.SUBSCRIBED) | suppressed("contact__")
    )
    with transaction.atomic():
        ids = list(gone.values_list("pk", flat=True))
        runs.record(Enrolment.objects.filter(pk__in=ids), Outcome.LEFT)
        return runs.move(ids, None, None, state=State.EXITED)
