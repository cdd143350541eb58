"""What each step kind does to a group of enrolments at the same step: how it splits them
into outcomes (read-only, before anything is recorded) and its effect on those it owns
(after their step runs are recorded, in the same transaction)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from automations import history, mail, subscriptions, tagging
from automations.models import JourneyVersion, StepRun
from automations.steps import Node, Plan
from contacts.models import Activity, Contact, MailingList, Subscription, TaggedContact
from contacts.segments import compile_rules
from sales.models import Task

Outcome = StepRun.Outcome


class NotYetError(Exception):
    """The step cannot be decided yet (the tracking drain has not caught up); retry at ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"not before {until.isoformat()}")
        self.until = until


@dataclass
class Group:
    """Enrolments of one version due at one step: ``rows`` maps enrolment id -> contact id."""

    version: JourneyVersion
    plan: Plan
    key: str
    rows: dict[int, int]
    due_at: datetime
    # Enrolments moved on to a step due now, still held by this claim: next step key -> rows.
    onward: dict[str, dict[int, int]] = field(default_factory=dict)

    @property
    def node(self) -> Node:
        return self.plan[self.key]

    @property
    def step(self) -> dict:
        return self.node.step

    def contacts(self, enrolment_ids) -> list[int]:
        return [self.rows[pk] for pk in enrolment_ids]

    def enrolments_of(self, contact_ids: set[int]) -> list[int]:
        return [pk for pk, contact in self.rows.items() if contact in contact_ids]


def matching(contact_ids: list[int], rules: dict) -> set[int]:
    return set(Contact.objects.filter(pk__in=contact_ids).filter(compile_rules(rules)).values_list("pk", flat=True))


def leaving(contact_ids: list[int]) -> set[int]:
    """Contacts who must leave every journey: no longer subscribed, or suppressed."""
    gone = Contact.objects.filter(pk__in=contact_ids).filter(
        ~Q(status=Contact.Status.SUBSCRIBED) | Contact.objects.suppressed_q()
    )
    return set(gone.values_list("pk", flat=True))


def in_split(contact_id: int, key: str, percent: int) -> bool:
    """Deterministic per contact and step, so a test run takes the path the engine takes."""
    return (contact_id * 2654435761 + zlib.crc32(key.encode())) % 100 < percent


# --- Partitions --------------------------------------------------------------------------------
def partition(group: Group) -> dict[int, list[int]]:
    kind, step, ids = group.node.kind, group.step, list(group.rows)
    contact_ids = group.contacts(ids)
    if kind == "email":
        sendable = set(Contact.objects.filter(pk__in=contact_ids).sendable().values_list("pk", flat=True))
        ok = sendable - mail.capped(list(sendable))
        return _split(ids, group.enrolments_of(ok), Outcome.DONE, Outcome.SKIPPED)
    if kind == "split":
        yes = {contact for contact in contact_ids if in_split(contact, group.key, int(step.get("percent", 50)))}
        return _split(ids, group.enrolments_of(yes), Outcome.YES, Outcome.NO)
    if kind == "condition":
        return _split(ids, group.enrolments_of(condition_holds(group, contact_ids)), Outcome.YES, Outcome.NO)
    if kind == "goal":
        return _split(ids, group.enrolments_of(matching(contact_ids, step["segment"])), Outcome.GOAL, Outcome.DONE)
    return {Outcome.DONE: ids}


def _split(ids: list[int], chosen: list[int], yes: int, no: int) -> dict[int, list[int]]:
    picked = set(chosen)
    return {yes: [pk for pk in ids if pk in picked], no: [pk for pk in ids if pk not in picked]}


def condition_holds(group: Group, contact_ids: list[int], *, wait_for_drain: bool = True) -> set[int]:
    """Contacts for whom the condition is true; a behaviour condition is decided only once the
    tracking drain has caught up with the step's due time (the test run reads history as it is)."""
    step = group.step
    if "segment" in step:
        return matching(contact_ids, step["segment"])
    kind = Activity.Kind.OPENED if "opened" in step else Activity.Kind.CLICKED
    if wait_for_drain and not drain_caught_up(group.due_at):
        raise NotYetError(timezone.now() + timedelta(seconds=settings.TRACKING_DRAIN_SECONDS))
    return mail.engaged(group.version.pk, step.get("opened") or step.get("clicked"), contact_ids, kind)


def drain_caught_up(moment: datetime) -> bool:
    """True once every open and click that reached the buffer before ``moment`` is in Activity:
    the oldest event still in the stream (drained or pending) arrived after it."""
    from redis.exceptions import RedisError

    from tracking import buffer

    try:
        age = buffer.oldest_age_seconds()
    except RedisError:
        return False
    return age is None or timezone.now() - timedelta(seconds=age) > moment


# --- Effects -----------------------------------------------------------------------------------
def apply(group: Group, outcome: int, owned: set[int]) -> None:
    """The step's effect on the enrolments whose run this transaction recorded."""
    kind, step = group.node.kind, group.step
    contact_ids = group.contacts(owned)
    if not contact_ids or outcome not in (Outcome.DONE, Outcome.YES, Outcome.NO):
        return
    if kind == "email" and outcome == Outcome.DONE:
        mail.send(group.version, group.key, step, contact_ids)
    elif kind == "tag":
        tagging.tag(contact_ids, step["tag"])
    elif kind == "untag":
        TaggedContact.objects.filter(content_object_id__in=contact_ids, tag__name=step["tag"]).delete()
        _history(contact_ids, Activity.Kind.TAGS, f"Tag {step['tag']} removed by a journey", removed=[step["tag"]])
    elif kind in ("add_to_list", "remove_from_list"):
        _lists(kind, step["list"], contact_ids)
    elif kind == "set_field":
        _set_field(contact_ids, step["field"], step.get("value", ""))
    elif kind == "task":
        _tasks(contact_ids, step)


def _history(contact_ids: list[int], kind: str, summary: str, **details) -> None:
    history.record(contact_ids, kind, summary, **details)


def _lists(kind: str, slug: str, contact_ids: list[int]) -> None:
    mailing_list = MailingList.objects.get(slug=slug)
    if kind == "add_to_list":
        subscriptions.add(contact_ids, mailing_list)
        return
    left = Subscription.objects.filter(contact_id__in=contact_ids, mailing_list=mailing_list).exclude(
        status=Subscription.Status.UNSUBSCRIBED
    )
    changed = list(left.values_list("contact_id", flat=True))
    left.update(status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now())
    _history(changed, Activity.Kind.PROFILE, f"Removed from the list {mailing_list.name} by a journey")


def _set_field(contact_ids: list[int], name: str, value) -> None:
    if name.startswith("custom."):
        key = name.removeprefix("custom.")
        contacts = list(Contact.objects.filter(pk__in=contact_ids).only("pk", "custom_fields"))
        for contact in contacts:
            contact.custom_fields = {**contact.custom_fields, key: value}
        Contact.objects.bulk_update(contacts, ["custom_fields"], batch_size=1000)
    else:
        Contact.objects.filter(pk__in=contact_ids).update(**{name: value})
    _history(contact_ids, Activity.Kind.PROFILE, f"{name} set to {value} by a journey", fields=[name])


def _tasks(contact_ids: list[int], step: dict) -> None:
    due = timezone.now() + timedelta(days=float(step.get("days", 1)))
    owners = dict(Contact.objects.filter(pk__in=contact_ids).values_list("pk", "owner_id"))
    Task.objects.bulk_create(
        Task(
            contact_id=pk, owner_id=owners.get(pk), title=step["title"][:200], due_at=due, origin=Task.Origin.AUTOMATION
        )
        for pk in contact_ids
    )
    _history(contact_ids, Activity.Kind.TASK, f"Task for the owner: {step['title']}")


# --- Waits -------------------------------------------------------------------------------------
def wait_until(step: dict, now: datetime, zone_name: str) -> datetime:
    """When a wait step that starts at ``now`` ends, for a contact in ``zone_name``."""
    duration = timedelta(
        minutes=float(step.get("minutes", 0)), hours=float(step.get("hours", 0)), days=float(step.get("days", 0))
    )
    if "hour" not in step:
        return now + duration
    zone = zone_for(zone_name)
    local = (now + duration).astimezone(zone)
    target = local.replace(hour=int(step["hour"]), minute=0, second=0, microsecond=0)
    while target <= local or ("weekday" in step and target.weekday() != int(step["weekday"])):
        target = (target + timedelta(days=1)).replace(hour=int(step["hour"]))
    return target.astimezone(ZoneInfo("UTC"))


def zone_for(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo(settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)
