"""The campaign lifecycle: draft -> scheduled -> sending <-> paused -> sent, cancelled from
scheduled/sending/paused, failed when the error policy stops it.

Every transition is one conditional UPDATE on the status it leaves, so two admins, two
beat processes or a restored snapshot can never apply it twice; an illegal transition
raises :class:`TransitionError` naming the current state. Work is enqueued after commit.
"""

from __future__ import annotations

from datetime import datetime, time

from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from campaigns import dispatch, freeze, queue
from campaigns.lint import lint
from campaigns.models import Campaign, Message
from campaigns.signals import sending_checks
from contacts.models import Activity
from templates_mail.lint import blocking

State = Campaign.Status


class TransitionError(Exception):
    """The campaign is not in a state that allows this action."""


# The states each action starts from: the transitions enforce them, the sending page offers
# an action only in these states.
ACTION_SOURCES: dict[str, list[str]] = {
    "send_now": [State.DRAFT, State.SCHEDULED],
    "schedule": [State.DRAFT, State.SCHEDULED],
    "unschedule": [State.SCHEDULED],
    "pause": [State.SENDING],
    "resume": [State.PAUSED],
    "cancel": [State.SCHEDULED, State.SENDING, State.PAUSED],
}


def available_actions(campaign: Campaign) -> list[str]:
    """The lifecycle actions legal now. A scheduled campaign whose time has come is being
    started by a worker: it can only be cancelled."""
    if campaign.status == State.SCHEDULED and campaign.scheduled_at and campaign.scheduled_at <= timezone.now():
        return ["cancel"]
    return [action for action, sources in ACTION_SOURCES.items() if campaign.status in sources]


def _transition(campaign: Campaign, action: str, sources: list[str], target: str, **fields) -> None:
    if not Campaign.objects.move(campaign.pk, sources, target, **fields):
        current = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
        allowed = ", ".join(sources)
        raise TransitionError(f"cannot {action} a campaign that is {current} (only when {allowed})")
    campaign.status = target
    for name, value in fields.items():
        setattr(campaign, name, value)


def blocking_problems(campaign: Campaign) -> list[str]:
    """What stops this campaign from being scheduled: the composer's blocking lint issues, A/B
    setup, and what the apps above refuse (sending_checks)."""
    problems = [issue.message for issue in blocking(lint(campaign))]
    for _, refusals in sending_checks.send(sender=Campaign, campaign=campaign):
        problems += refusals
    if campaign.ab_test_share:
        if ab_variant_count(campaign) < 2:
            problems.append("an A/B test needs at least two variants")
        if not campaign.ab_wait:
            problems.append("an A/B test needs a duration after which the winner is sent")
    return problems


@transaction.atomic
def schedule(campaign: Campaign, when: datetime, *, local_time: time | None = None) -> None:
    """Queue the campaign to start at ``when`` (an aware datetime; beat starts it). With
    ``local_time``, each contact receives it at that hour of their own day, within 24 hours."""
    if timezone.is_naive(when):
        raise TransitionError("the send time needs a time zone")
    problems = blocking_problems(campaign)
    if problems:
        raise TransitionError("fix these first: " + "; ".join(problems))
    fields = {"scheduled_at": when, "status_reason": "", "send_at_local_time": local_time}
    _transition(campaign, "schedule", ACTION_SOURCES["schedule"], State.SCHEDULED, **fields)


@transaction.atomic
def send_now(campaign: Campaign) -> None:
    schedule(campaign, timezone.now())
    queue.start_campaign(campaign.pk)


@transaction.atomic
def unschedule(campaign: Campaign) -> None:
    _transition(campaign, "unschedule", ACTION_SOURCES["unschedule"], State.DRAFT, scheduled_at=None)


def ab_variant_count(campaign: Campaign) -> int:
    """Arms of the A/B test: variant rows, or subject B; 1 when there is no test."""
    if not campaign.ab_test_share:
        return 1
    rows = list(campaign.variants.values_list("index", flat=True))
    return max(max(rows, default=0) + 1, 2 if campaign.subject_b.strip() else 1)


def start(campaign_id: int) -> bool:
    """scheduled (and due) -> sending, freeze the audience and dispatch, in one transaction.

    Returns False when someone else started it, or it is not due: the start is the state change.
    """
    now = timezone.now()
    with transaction.atomic():
        started = Campaign.objects.filter(pk=campaign_id, scheduled_at__lte=now).move(
            campaign_id, [State.SCHEDULED], State.SENDING, started_at=now
        )
        if not started:
            return False
        campaign = Campaign.objects.get(pk=campaign_id)
        freeze.freeze_audience(campaign, ab_variant_count(campaign), campaign.ab_test_share)
        if campaign.send_at_local_time:
            freeze.spread_by_time_zone(campaign, campaign.send_at_local_time)
        if not dispatch.finish_if_done(campaign_id):
            dispatch.dispatch(campaign_id)
    return True


def start_due() -> list[int]:
    """Start every scheduled campaign whose time has come (beat calls this every tick)."""
    due = Campaign.objects.filter(status=State.SCHEDULED, scheduled_at__lte=timezone.now())
    return [pk for pk in due.values_list("pk", flat=True) if start(pk)]


@transaction.atomic
def pause(campaign: Campaign, reason: str = "paused by a user") -> None:
    """Workers notice at their next write and hand back what they have not sent."""
    _transition(campaign, "pause", ACTION_SOURCES["pause"], State.PAUSED, status_reason=reason)


@transaction.atomic
def resume(campaign: Campaign) -> None:
    _transition(campaign, "resume", ACTION_SOURCES["resume"], State.SENDING, status_reason="")
    if not dispatch.finish_if_done(campaign.pk):
        dispatch.dispatch(campaign.pk)


@transaction.atomic
def cancel(campaign: Campaign) -> None:
    """Stop for good; messages not yet sent are cancelled, those sent stay sent."""
    _transition(campaign, "cancel", ACTION_SOURCES["cancel"], State.CANCELLED, finished_at=timezone.now())
    Message.objects.filter(campaign=campaign, status__in=Message.Status.cancellable()).update(
        status=Message.Status.CANCELLED
    )


def ab_results(campaign: Campaign) -> dict[int, float]:
    """Human opens (or clicks) per sent message of each variant of the test share."""
    kind = Activity.Kind.CLICKED if campaign.ab_metric == "clicks" else Activity.Kind.OPENED
    engaged = Activity.objects.filter(message_id=OuterRef("pk"), kind=kind, is_machine=False)
    rows = (
        Message.objects.filter(campaign=campaign, status=Message.Status.SENT)
        .values("variant")
        .annotate(sent=Count("pk"), hits=Count("pk", filter=Exists(engaged)))
    )
    return {row["variant"]: row["hits"] / row["sent"] for row in rows}


@transaction.atomic
def decide_ab_test(campaign: Campaign) -> int | None:
    """Pick the winner (ties go to the lower variant) and release the held remainder to it."""
    if not Campaign.objects.filter(pk=campaign.pk, ab_decided_at__isnull=True).update(ab_decided_at=timezone.now()):
        return None
    results = ab_results(campaign)
    winner = max(sorted(results), key=lambda variant: results[variant]) if results else 0
    Campaign.objects.filter(pk=campaign.pk).update(ab_winner=winner)
    Message.objects.filter(campaign=campaign, status=Message.Status.HELD).update(
        status=Message.Status.QUEUED, variant=winner
    )
    if campaign.status == State.SENDING:
        dispatch.dispatch(campaign.pk)
    return winner


def decide_due_ab_tests() -> list[int]:
    """A/B tests whose waiting time is over, decided by the tick."""
    now = timezone.now()
    decided = []
    candidates = Campaign.objects.filter(
        status=State.SENDING, ab_test_share__gt=0, ab_decided_at__isnull=True, ab_wait__isnull=False
    )
    for campaign in candidates:
        if campaign.started_at + campaign.ab_wait <= now and decide_ab_test(campaign) is not None:
            decided.append(campaign.pk)
    return decided
