"""Lost-customer detection: the nightly job, in a handful of set-based SQL statements.

A customer (a contact with a won order) is **lost** when they have not ordered for 3x their
own average gap between orders (with at least 3 orders), or their standing went inactive;
**drifting** at 1.5x that gap, standing at risk, or an engagement score down by
SALES_LOST_ENGAGEMENT_DROP against the baseline stored in CustomerHealth (taken again every
90 days while the customer is not flagged). A contact moving from buying to flagged gets one
alert (a task for the owner and an Activity); moving back is recorded as a recovery. A flag
that worsens (drifting -> lost) updates the state without a second alert.

The statements are written by hand because they join aggregates to an UPDATE ... FROM, which
the ORM cannot express; they run unchanged on SQLite (3.33+) and PostgreSQL apart from date
arithmetic (``_Dialect``) and JSON construction (``contacts.history``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from contacts import history
from contacts.models import Activity, Contact
from sales.models import CustomerHealth, Deal, Task
from sales.services import record_rule_tasks

DRIFT_FACTOR, LOST_FACTOR = 1.5, 3.0
MIN_ORDERS = 3
BASELINE_DAYS = 90
RULE_KEY = "lost-customer"
ANALYZE = "ANALYZE"  # marks where the job refreshes the health table's statistics
State = CustomerHealth.State

HEALTH = CustomerHealth._meta.db_table
CONTACT = Contact._meta.db_table
DEAL = Deal._meta.db_table
ACTIVITY = Activity._meta.db_table
TASK = Task._meta.db_table


@dataclass
class Outcome:
    drifting: int = 0
    lost: int = 0
    recovered: int = 0
    tasks_created: int = 0

    def as_json(self) -> dict[str, int]:
        return asdict(self)


class _Dialect:
    """Date arithmetic, which SQLite and PostgreSQL spell differently."""

    def __init__(self, vendor: str) -> None:
        self.postgres = vendor == "postgresql"

    def days(self, later: str, earlier: str) -> str:
        if self.postgres:
            return f"({later} - {earlier})"
        return f"(julianday({later}) - julianday({earlier}))"

    def today(self) -> str:
        return "CAST(%(today)s AS date)" if self.postgres else "%(today)s"


def _verdict_sql(sql: _Dialect) -> str:
    """Every customer's state tonight, with the reason in words."""
    today = sql.today()
    gap = sql.days(today, "o.last_day")
    average = f"({sql.days('o.last_day', 'o.first_day')} / (o.n - 1.0))"
    has_history = f"o.n >= {MIN_ORDERS}"
    lost_gap = f"({has_history} AND {gap} > {LOST_FACTOR} * {average})"
    drift_gap = f"({has_history} AND {gap} > {DRIFT_FACTOR} * {average})"
    dropped = "(h.baseline_score >= %(min_baseline)s AND c.engagement_score <= h.baseline_score * (1 - %(drop)s))"
    gap_words = (
        f"'no order for ' || CAST({gap} AS INTEGER) || ' days, usually every ' || CAST(ROUND({average}) AS INTEGER)"
    )
    return f"""
        o AS (
            SELECT contact_id, COUNT(*) AS n, MIN(date) AS first_day, MAX(date) AS last_day
            FROM {DEAL} WHERE status = '{Deal.Status.WON}' GROUP BY contact_id
        ),
        v AS (
            SELECT h.contact_id,
                CASE WHEN {lost_gap} OR c.standing = '{Contact.Standing.INACTIVE}' THEN '{State.LOST}'
                     WHEN {drift_gap} OR c.standing = '{Contact.Standing.AT_RISK}' OR {dropped} THEN '{State.DRIFTING}'
                     ELSE '{State.OK}' END AS verdict,
                CASE WHEN {drift_gap} THEN {gap_words}
                     WHEN c.standing = '{Contact.Standing.INACTIVE}' THEN 'standing went inactive'
                     WHEN c.standing = '{Contact.Standing.AT_RISK}' THEN 'standing went at risk'
                     WHEN {dropped} THEN 'engagement down from ' || CAST(ROUND(h.baseline_score) AS INTEGER)
                          || ' to ' || CAST(ROUND(c.engagement_score) AS INTEGER)
                     ELSE '' END AS reason
            FROM {HEALTH} h
            JOIN {CONTACT} c ON c.id = h.contact_id
            LEFT JOIN o ON o.contact_id = h.contact_id
        )
    """  # noqa: S608


def _statements(sql: _Dialect) -> list[str]:
    """The job, in order: enrol new customers, move states, write alerts, tasks and recoveries,
    refresh baselines. Parameters are named (now, today, cutoff, min_baseline, drop, due)."""
    alert = history.json_object(
        {
            "summary": f"CASE WHEN h.state = '{State.LOST}' THEN 'Lost customer: ' ELSE 'Drifting customer: ' END"
            " || h.reason",
            "from": f"'{State.OK}'",
            "to": "h.state",
        }
    )
    recovery = history.json_object({"summary": "'Customer recovered'", "to": f"'{State.OK}'"})
    return [
        # EXCEPT reads the health table once; a NOT EXISTS against the table being filled can be
        # planned as a nested loop that rescans it per row (quadratic when it starts empty).
        f"""INSERT INTO {HEALTH} (contact_id, state, reason, baseline_score, baseline_at)
            SELECT c.id, '{State.OK}', '', c.engagement_score, %(now)s FROM {CONTACT} c
            JOIN (SELECT contact_id FROM {DEAL} WHERE status = '{Deal.Status.WON}'
                  EXCEPT SELECT contact_id FROM {HEALTH}) new ON new.contact_id = c.id""",  # noqa: S608
        ANALYZE,
        f"""WITH {_verdict_sql(sql)}
            UPDATE {HEALTH} SET
                state = v.verdict,
                reason = v.reason,
                flagged_at = CASE WHEN {HEALTH}.state = '{State.OK}' THEN %(now)s ELSE {HEALTH}.flagged_at END,
                recovered_at = CASE WHEN v.verdict = '{State.OK}' THEN %(now)s ELSE {HEALTH}.recovered_at END
            FROM v WHERE {HEALTH}.contact_id = v.contact_id AND {HEALTH}.state <> v.verdict""",  # noqa: S608
        f"""INSERT INTO {ACTIVITY} ({history.COLUMNS})
            SELECT h.contact_id, '{Activity.Kind.ALERT}', %(now)s, '', FALSE, {alert}
            FROM {HEALTH} h WHERE h.flagged_at = %(now)s AND h.state <> '{State.OK}'""",  # noqa: S608
        f"""INSERT INTO {ACTIVITY} ({history.COLUMNS})
            SELECT h.contact_id, '{Activity.Kind.ALERT}', %(now)s, '', FALSE, {recovery}
            FROM {HEALTH} h WHERE h.recovered_at = %(now)s""",  # noqa: S608
        f"""UPDATE {HEALTH} SET baseline_score = (SELECT c.engagement_score FROM {CONTACT} c
                                                  WHERE c.id = {HEALTH}.contact_id),
                                baseline_at = %(now)s
            WHERE baseline_at < %(cutoff)s AND state = '{State.OK}'""",  # noqa: S608
    ]


def _task_sql() -> str:
    """One open follow-up task per newly flagged customer for the owner; the unique constraint
    on open rule tasks makes a second one a no-op. Unlike the task rules'
    ``sales.services.create_rule_tasks``, its title, note and priority come from each flag."""
    return f"""
        INSERT INTO {TASK} (contact_id, owner_id, kind, title, note, due_at, priority, origin, rule_key,
                            reminder, reminder_claim, created_at)
        SELECT h.contact_id, c.owner_id, '{Task.Kind.FOLLOW_UP}',
               CASE WHEN h.state = '{State.LOST}' THEN 'Win back a lost customer'
                    ELSE 'Check on a drifting customer' END,
               h.reason, %(due)s, {Task.Priority.HIGH}, '{Task.Origin.RULE}', '{RULE_KEY}',
               CASE WHEN c.owner_id IS NULL THEN '{Task.Reminder.NONE}' ELSE '{Task.Reminder.PENDING}' END,
               '', %(now)s
        FROM {HEALTH} h JOIN {CONTACT} c ON c.id = h.contact_id
        WHERE h.flagged_at = %(now)s AND h.state <> '{State.OK}'
        ON CONFLICT DO NOTHING
    """  # noqa: S608


def _analyze(cursor: Any) -> None:
    """Fresh statistics for the health table before it is joined: on its first night it goes
    from empty to every customer, and PostgreSQL would plan the UPDATE for an empty table."""
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {HEALTH}")


def _parameters(now: datetime) -> dict[str, Any]:
    adapt = connection.ops.adapt_datetimefield_value
    return {
        "now": adapt(now),
        "due": adapt(now),
        "today": timezone.localdate(now).isoformat(),
        "cutoff": adapt(now - timedelta(days=BASELINE_DAYS)),
        "min_baseline": settings.SALES_LOST_MIN_BASELINE,
        "drop": settings.SALES_LOST_ENGAGEMENT_DROP,
    }


def detect_lost_customers(now: datetime | None = None) -> Outcome:
    """Run the nightly job now; returns how many were newly flagged drifting/lost, how many
    recovered and how many tasks were created."""
    now = now or timezone.now()
    sql = _Dialect(connection.vendor)
    parameters = _parameters(now)
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in _statements(sql):
            if statement is ANALYZE:
                _analyze(cursor)
            else:
                cursor.execute(statement, parameters)
        cursor.execute(_task_sql(), parameters)
        tasks_created = max(cursor.rowcount, 0)
        if tasks_created:
            record_rule_tasks(RULE_KEY, now, "the lost-customer alert")
        flagged = CustomerHealth.objects.filter(flagged_at=now).exclude(state=State.OK)
        counts = dict(flagged.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    return Outcome(
        drifting=counts.get(State.DRIFTING, 0),
        lost=counts.get(State.LOST, 0),
        recovered=CustomerHealth.objects.filter(recovered_at=now).count(),
        tasks_created=tasks_created,
    )
