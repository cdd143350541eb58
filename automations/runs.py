"""Set-based writes of the engine: record step runs (the exactly-once guard) and move
enrolments on, each one statement for a whole group of enrolments."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, QuerySet, Value
from django.utils import timezone

from automations.insert_select import insert_select
from automations.models import Enrolment, StepRun

State = Enrolment.State


def record(enrolments: QuerySet, outcome: int, *, step: str | None = None) -> set[int]:
    """Insert one StepRun per enrolment (at its current step, or ``step``) in one INSERT ... SELECT;
    an enrolment that already ran that step is skipped. Returns the enrolment ids whose row this inserted."""
    rows = enrolments.order_by().annotate(r_id=F("pk"), r_step=Value(step) if step else F("step"))
    inserted = insert_select(
        StepRun,
        "enrolment_id, step, outcome, at",
        "a.r_id, a.r_step, %s, %s",
        rows.values_list("r_id", "r_step"),
        [outcome, timezone.now()],
        tail="WHERE 1 = 1 ON CONFLICT (enrolment_id, step) DO NOTHING",
        returning="enrolment_id",
    )
    return set(inserted)


def move(
    ids: set[int] | list[int],
    at: str | None,
    to: str | None,
    due_at: datetime | None = None,
    *,
    state: str = "",
    hold: bool = False,
) -> int:
    """Send enrolments still at step ``at`` (any step when None) to step ``to``, due at ``due_at``
    (now by default); no ``to`` ends them (done, or ``state``). ``hold`` keeps them running under
    the current lease, for the worker to execute the next step at once. The step guard keeps a
    worker whose lease lapsed from moving an enrolment another worker already moved on."""
    if not ids:
        return 0
    now = timezone.now()
    rows = Enrolment.objects.filter(pk__in=list(ids), state__in=[State.WAITING, State.RUNNING])
    if at is not None:
        rows = rows.filter(step=at)
    if to is None or state:
        return rows.update(state=state or State.DONE, lease_until=None, finished_at=now, due_at=now)
    if hold:
        return rows.update(step=to, due_at=due_at or now, state=State.RUNNING)
    return rows.update(step=to, due_at=due_at or now, state=State.WAITING, lease_until=None)


def release(ids: list[int], due_at: datetime) -> int:
    """Hand claimed enrolments back untouched, to be tried again at ``due_at``."""
    return Enrolment.objects.filter(pk__in=ids, state=State.RUNNING).update(
        state=State.WAITING, due_at=due_at, lease_until=None
    )
