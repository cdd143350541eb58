"""Grades that classify themselves: ABC by revenue share, or segment rules per grade.

Both methods produce one SQL set of *moves* (contact, grade now, grade the rules give),
which the preview counts and the apply writes: the history rows with one INSERT ... SELECT
and the grades with one UPDATE, from the same materialised set, so the preview is what
apply does. A manual grade is an override: a contact whose latest grade event was written
by a person (``Activity.created_by``, set by the contact edit form) and who has a grade is
left alone; clearing the grade by hand hands the contact back to the rules.

Revenue is summed over won orders as recorded, whatever their currency (one currency per
installation is assumed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from contacts import history
from contacts.models import Activity, Contact
from contacts.segments import compile_rules
from sales.models import Deal, GradePolicy

CONTACT = Contact._meta.db_table
ACTIVITY = Activity._meta.db_table
DEAL = Deal._meta.db_table
MOVES = "sales_grade_moves"
GRADES = ("A", "B", "C")


@dataclass(frozen=True)
class Move:
    old: str
    new: str
    count: int

    def __str__(self) -> str:
        return f"{self.count} contacts would move {self.old or 'ungraded'} → {self.new}"


def policy() -> GradePolicy:
    """The installation's grade policy (defaults until someone saves one)."""
    return GradePolicy.objects.order_by("pk").first() or GradePolicy()


def _overridden() -> str:
    """Contacts whose latest grade event a person wrote."""
    return f"""SELECT a.contact_id FROM {ACTIVITY} a
        WHERE a.kind = '{Activity.Kind.GRADE}' AND a.created_by_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM {ACTIVITY} b WHERE b.contact_id = a.contact_id
                          AND b.kind = '{Activity.Kind.GRADE}' AND b.occurred_at > a.occurred_at)"""  # noqa: S608


def _revenue_targets(rules: GradePolicy, now: datetime) -> tuple[str, list[Any]]:
    """(contact_id, target) for every customer: ranked by revenue over the last N months, A
    while the revenue before them is under a_share of the total, B under a_share + b_share."""
    since = connection.ops.adapt_datefield_value(timezone.localdate(now) - timedelta(days=round(30.44 * rules.months)))
    sql = f"""
        SELECT contact_id, CASE
            WHEN r > 0 AND running - r < %s * total THEN 'A'
            WHEN r > 0 AND running - r < %s * total THEN 'B'
            ELSE 'C' END AS target
        FROM (
            SELECT contact_id, r,
                   SUM(r) OVER (ORDER BY r DESC, contact_id ROWS UNBOUNDED PRECEDING) AS running,
                   SUM(r) OVER () AS total
            FROM (SELECT contact_id, SUM(CASE WHEN date >= %s THEN amount ELSE 0 END) AS r
                  FROM {DEAL} WHERE status = '{Deal.Status.WON}' GROUP BY contact_id) revenue
        ) ranked"""  # noqa: S608
    return sql, [rules.a_share / 100, (rules.a_share + rules.b_share) / 100, since]


def _rule_targets(rules: GradePolicy) -> tuple[str, list[Any]]:
    """(contact_id, target) for contacts matching a grade's segment rules (A first)."""
    whens = [
        When(compile_rules(rule), then=Value(grade))
        for grade, rule in zip(GRADES, (rules.rules_a, rules.rules_b, rules.rules_c), strict=True)
        if rule
    ]
    if not whens:
        return f"SELECT id AS contact_id, grade AS target FROM {CONTACT} WHERE 1 = 0", []  # noqa: S608
    matching = Q()
    for when in whens:
        matching |= when.condition
    targets = (
        Contact.objects.order_by()
        .filter(matching)
        .annotate(contact_id=F("pk"), target=Case(*whens, default=F("grade")))
        .values("contact_id", "target")
        .distinct()  # a rule that joins (a list, a tag) must not list a contact twice
    )
    sql, params = targets.query.sql_with_params()
    return sql, list(params)


def _moves_sql(rules: GradePolicy, now: datetime) -> tuple[str, list[Any]]:
    """The contacts the rules would regrade: (contact_id, old_grade, new_grade)."""
    targets, params = (
        _revenue_targets(rules, now) if rules.method == GradePolicy.Method.REVENUE else _rule_targets(rules)
    )
    sql = f"""
        SELECT t.contact_id, c.grade AS old_grade, t.target AS new_grade
        FROM ({targets}) t JOIN {CONTACT} c ON c.id = t.contact_id
        WHERE c.grade <> t.target
          AND NOT (c.grade <> '' AND c.id IN ({_overridden()}))"""  # noqa: S608
    return sql, params


def preview(rules: GradePolicy | None = None, now: datetime | None = None) -> list[Move]:
    """How many contacts would move from which grade to which, largest first."""
    sql, params = _moves_sql(rules or policy(), now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT old_grade, new_grade, COUNT(*) FROM ({sql}) m GROUP BY old_grade, new_grade",  # noqa: S608
            params,
        )
        rows = cursor.fetchall()
    return sorted((Move(old, new, count) for old, new, count in rows), key=lambda move: (-move.count, move.old))


def apply(rules: GradePolicy | None = None, now: datetime | None = None) -> int:
    """Regrade everyone the rules move (overrides kept), one history event each; returns how many."""
    rules, now = rules or policy(), now or timezone.now()
    sql, params = _moves_sql(rules, now)
    old, new = history.label("m.old_grade"), "m.new_grade"
    details = history.json_object(
        {"summary": f"'Grade changed from ' || {old} || ' to ' || {new}", "from": "m.old_grade", "to": new}
        | {"source": "'rules'"}
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {MOVES}")
        cursor.execute(f"CREATE TEMPORARY TABLE {MOVES} AS {sql}", params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {MOVES}")  # temporary tables are never analysed automatically
        cursor.execute(
            f"""INSERT INTO {ACTIVITY} (contact_id, kind, occurred_at, link_url, is_machine, details)
                SELECT m.contact_id, '{Activity.Kind.GRADE}', %s, '', FALSE, {details} FROM {MOVES} m""",  # noqa: S608
            [connection.ops.adapt_datetimefield_value(now)],
        )
        moved = max(cursor.rowcount, 0)
        cursor.execute(
            f"""UPDATE {CONTACT} SET grade = m.new_grade FROM {MOVES} m WHERE {CONTACT}.id = m.contact_id"""  # noqa: S608
        )
        cursor.execute(f"DROP TABLE {MOVES}")
        if rules.pk:
            GradePolicy.objects.filter(pk=rules.pk).update(applied_at=now)
    return moved


def apply_nightly() -> int | None:
    """The beat entry: apply the saved policy if it is switched on for nightly runs."""
    rules = policy()
    return apply(rules) if rules.pk and rules.nightly else None
