"""Retention: step runs of enrolments finished more than JOURNEY_STEP_RUN_RETENTION_DAYS ago
are added to per-step totals and deleted, in one transaction (two statements and a delete)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from automations.models import Enrolment, StepRun, StepTotal


def purge_step_runs() -> int:
    """Summarise then delete old step runs; returns how many rows went."""
    cutoff = timezone.now() - timedelta(days=settings.JOURNEY_STEP_RUN_RETENTION_DAYS)
    runs = connection.ops.quote_name(StepRun._meta.db_table)
    enrolments = connection.ops.quote_name(Enrolment._meta.db_table)
    totals = connection.ops.quote_name(StepTotal._meta.db_table)
    # Only our own table names are interpolated; values are parameters.
    upsert = (
        f"INSERT INTO {totals} (journey_id, step, outcome, count) "  # noqa: S608
        f"SELECT e.journey_id, r.step, r.outcome, COUNT(*) FROM {runs} r JOIN {enrolments} e ON e.id = r.enrolment_id "
        f"WHERE e.finished_at < %s AND e.state NOT IN ('waiting', 'running') GROUP BY e.journey_id, r.step, r.outcome "
        f"ON CONFLICT (journey_id, step, outcome) DO UPDATE SET count = {totals}.count + excluded.count"
    )
    delete = (
        f"DELETE FROM {runs} WHERE enrolment_id IN (SELECT e.id FROM {enrolments} e "  # noqa: S608
        f"WHERE e.finished_at < %s AND e.state NOT IN ('waiting', 'running'))"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(upsert, [cutoff])
        cursor.execute(delete, [cutoff])
        return cursor.rowcount
