"""Journey lifecycle and queries: publish a version, go live, pause, move contacts between
versions, emit events, the status report and the test run."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Value
from django.utils import timezone

from automations import actions, mail
from automations.enrolment import enrol, enrol_contacts, occurrence
from automations.models import Enrolment, Journey, JourneyVersion, StepCampaign, StepRun
from automations.steps import plan
from contacts import services as contact_services
from contacts.models import Activity, Contact

State = Enrolment.State
Outcome = StepRun.Outcome
# Which diagram count each step outcome adds to.
COUNTED_AS = {Outcome.FAILED: "failed", Outcome.LEFT: "exited"}


class JourneyError(Exception):
    """The journey cannot do that now; the message says why."""


@transaction.atomic
def publish(journey: Journey) -> JourneyVersion:
    """Freeze the journey's definition as its current version (a new one if it changed); contacts
    already inside keep the version they entered with."""
    plan(journey.definition)
    current = journey.current_version
    if current is not None and current.definition == journey.definition:
        return current
    number = (journey.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = JourneyVersion.objects.create(journey=journey, number=number, definition=journey.definition)
    Journey.objects.filter(pk=journey.pk).update(current_version=version)
    journey.current_version = version
    return version


@transaction.atomic
def activate(journey: Journey) -> None:
    """Go live with the current definition. Event triggers start from now, not from old history."""
    publish(journey)
    top = Activity.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    Journey.objects.filter(pk=journey.pk).exclude(status=Journey.Status.LIVE).update(
        status=Journey.Status.LIVE, watermark=top
    )
    journey.refresh_from_db()


def pause(journey: Journey) -> None:
    """Enrolments wait where they are; waits that end meanwhile run on resume."""
    Journey.objects.filter(pk=journey.pk, status=Journey.Status.LIVE).update(status=Journey.Status.PAUSED)
    journey.status = Journey.Status.PAUSED


def resume(journey: Journey) -> None:
    Journey.objects.filter(pk=journey.pk, status=Journey.Status.PAUSED).update(status=Journey.Status.LIVE)
    journey.status = Journey.Status.LIVE


def move_to_current(journey: Journey, mapping: dict[str, str]) -> int:
    """Move waiting contacts of older versions onto the current one: old step key -> new step key."""
    version = journey.current_version
    keys = plan(version.definition).nodes
    bad = [new for new in mapping.values() if new not in keys]
    if bad:
        raise JourneyError(f"no step {', '.join(bad)} in version {version.number}")
    moved = 0
    waiting = Enrolment.objects.filter(journey=journey, state=State.WAITING).exclude(version=version)
    for old, new in mapping.items():
        moved += waiting.filter(step=old).update(version=version, step=new)
    return moved


def emit(contact: Contact, event_name: str, data: dict[str, Any] | None = None) -> list[int]:
    """An event from outside (the API): enrol the contact in every live journey it triggers.
    Returns the ids of the journeys it entered."""
    entered = []
    for journey in Journey.objects.filter(status=Journey.Status.LIVE).select_related("current_version"):
        triggers = journey.current_version.definition.get("triggers", []) if journey.current_version else []
        if any(t.get("type") == "event" and t.get("name") == event_name for t in triggers):
            key = Value(str((data or {}).get("id") or f"e{timezone.now().timestamp():.6f}"))
            if enrol(journey, Contact.objects.filter(pk=contact.pk), occurrence(journey, key)):
                entered.append(journey.pk)
    return entered


def enrol_one(journey: Journey, contact: Contact, user=None) -> bool:
    """Manual enrolment of one contact; False when the re-entry policy or the contact's status refuses."""
    if journey.current_version is None:
        raise JourneyError("the journey has no published version yet: activate it first")
    entered = bool(enrol_contacts(journey, Contact.objects.filter(pk=contact.pk)))
    if entered:
        contact_services.record(
            contact,
            Activity.Kind.JOURNEY,
            details={"summary": f"Enrolled in the journey {journey.name}"},
            created_by=user,
        )
    return entered


def step_counts(journey: Journey) -> dict[str, dict[str, int]]:
    """Per step key: contacts waiting there, and step runs done, failed, exited (all versions)."""
    counts: dict[str, dict[str, int]] = {}

    def slot(key: str) -> dict[str, int]:
        return counts.setdefault(key, {"waiting": 0, "done": 0, "failed": 0, "exited": 0})

    inside = Enrolment.objects.filter(journey=journey, state__in=[State.WAITING, State.RUNNING])
    for key, n in inside.values_list("step").annotate(n=Count("pk")).values_list("step", "n"):
        slot(key)["waiting"] += n
    done = Q(outcome__in=[Outcome.DONE, Outcome.YES, Outcome.NO, Outcome.SKIPPED, Outcome.GOAL])
    rows = (
        StepRun.objects.filter(enrolment__journey=journey)
        .values("step")
        .annotate(
            done=Count("outcome", filter=done),
            failed=Count("outcome", filter=Q(outcome=Outcome.FAILED)),
            exited=Count("outcome", filter=Q(outcome=Outcome.LEFT)),
        )
        .order_by()
    )
    for row in rows:
        for name in ("done", "failed", "exited"):
            slot(row["step"])[name] += row[name]
    for key, outcome, count in journey.step_totals.values_list("step", "outcome", "count"):
        slot(key)[COUNTED_AS.get(outcome, "done")] += count
    return counts


def status(journey: Journey) -> dict[str, Any]:
    """The `journey_status --json` document."""
    version = journey.current_version
    keys = plan(version.definition).nodes if version else {}
    counts = step_counts(journey)
    steps = [
        {"key": key, "kind": node.kind, **counts.get(key, {"waiting": 0, "done": 0, "failed": 0, "exited": 0})}
        for key, node in keys.items()
    ]
    enrolments = Enrolment.objects.filter(journey=journey)
    return {
        "status": journey.status,
        "version": version.number if version else None,
        "steps": steps,
        "enrolled": enrolments.count(),
        "completed": enrolments.filter(state=State.DONE).count(),
        "emails": email_campaigns(journey),
    }


def email_campaigns(journey: Journey) -> list[dict[str, Any]]:
    """The campaigns of the journey's email steps, every version and pass, oldest first: the way to
    their reports, as the campaign list leaves them out. [{"step", "version", "campaign", "name"}]"""
    rows = (
        StepCampaign.objects.filter(version__journey=journey)
        .order_by("version__number", "campaign_id")
        .values_list("version__number", "version__definition", "key", "campaign_id", "campaign__name")
    )
    return [
        {"step": mail.step_key(key, plan(definition).keys()), "version": number, "campaign": pk, "name": name}
        for number, definition, key, pk, name in rows
    ]


def test_run(journey: Journey, contact: Contact) -> list[dict[str, Any]]:
    """The path ``contact`` would take through the current version now, without changing anything:
    [{"key", "kind", "outcome"}]. Behaviour conditions read the contact's history as it is."""
    version = journey.current_version or JourneyVersion(journey=journey, number=0, definition=journey.definition)
    steps = plan(version.definition)
    path, key = [], steps.first
    while key is not None:
        node = steps[key]
        group = actions.Group(version, steps, key, {0: contact.pk}, timezone.now())
        if actions.leaving([contact.pk]):
            path.append({"key": key, "kind": node.kind, "outcome": "left"})
            break
        reached = [
            g for g in steps.goals() if g.step["key"] != key and actions.matching([contact.pk], g.step["segment"])
        ]
        if reached:
            path.append({"key": reached[0].step["key"], "kind": "goal", "outcome": "goal"})
            break
        if node.kind == "condition":
            outcome = Outcome.YES if actions.condition_holds(group, [contact.pk], wait_for_drain=False) else Outcome.NO
        else:
            outcome = next(o for o, ids in actions.partition(group).items() if ids)
        path.append({"key": key, "kind": node.kind, "outcome": Outcome(outcome).label.split(" ")[0].lower()})
        if node.kind == "exit" or outcome == Outcome.GOAL:
            break
        key = node.branches["yes" if outcome == Outcome.YES else "no"] if node.branches else node.after
    return path


NEEDS_LIST = {"welcome"}


def install(template: str, *, list_slug: str = "", activate_now: bool = False, user=None) -> Journey:
    """Create a journey from a shipped template (``journey_templates.TEMPLATES``)."""
    from automations.journey_templates import TEMPLATES
    from contacts.models import MailingList

    if template not in TEMPLATES:
        raise JourneyError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")
    if template in NEEDS_LIST and not list_slug:
        raise JourneyError(f"the {template} journey starts when contacts join a list: give --list SLUG")
    if list_slug and not MailingList.objects.filter(slug=list_slug).exists():
        raise JourneyError(f"no list with the slug {list_slug!r}")
    spec = TEMPLATES[template](list_slug)
    journey = Journey.objects.create(
        name=spec["name"], reentry=spec["reentry"], definition=spec["definition"], created_by=user
    )
    publish(journey)
    if activate_now:
        activate(journey)
    return journey
