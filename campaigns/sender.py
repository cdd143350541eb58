"""Sending the rows of one claimed batch: render, take a slot from the throttle, send over
one connection, and write the outcomes every SEND_FLUSH_EVERY messages.

The claim, its journal and the recovery of dead workers' claims are in campaigns.claims;
the error policy (too many refusals in a batch pause the campaign) is here.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns import delivery, queue, reputation, version
from campaigns.claims import Heartbeat, Journal, claim_batch, claimed, mark_sent, settle
from campaigns.dispatch import beat, finish_if_done, waiting_batches
from campaigns.models import Campaign, Message
from campaigns.throttle import Decision, Limit, Throttle
from contacts import services as contact_services
from contacts.models import Activity, Contact
from templates_mail.merge import MergeError
from templates_mail.recipient import recipient_for
from templates_mail.rendering import RenderError

log = logging.getLogger(__name__)
Status = Message.Status


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter: between half and all of base * 2^(attempts-1), capped."""
    ceiling = min(settings.SEND_RETRY_MAX_DELAY_SECONDS, settings.SEND_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


def error_policy_reason(failed: int, attempted: int, last_error: str = "") -> str:
    """Why the error policy paused a campaign: too many refusals in one batch."""
    reason = (
        f"paused automatically: {failed} of {attempted} messages in one batch were refused; "
        "check the sending domain's reputation and the audience before resuming"
    )
    if last_error:
        reason += f" (last error: {last_error})"
    return reason


ContentSource = Callable[[Contact, int | None], delivery.Content]


@dataclass
class BatchSender:
    """Sends the rows of one claim over one connection, writing outcomes every SEND_FLUSH_EVERY."""

    campaign: Campaign
    batch: int
    claim: str
    sources: dict[int, tuple[delivery.MessageTemplate, ContentSource]]
    throttle: Throttle = field(default_factory=Throttle)
    sent: list[int] = field(default_factory=list)
    changed: list[Message] = field(default_factory=list)
    bounced: list[Message] = field(default_factory=list)
    # Failures and deferrals by the receiving side, written into the recipients' history: what
    # the campaign report counts, so its totals outlive the contacts (and their messages).
    outcomes: list[tuple[Message, str]] = field(default_factory=list)
    attempted: int = 0
    failed: int = 0
    last_error: str = ""
    last_flush: float = field(default_factory=time.monotonic)
    # Receiving domains backing off after a deferral storm (shared through Redis), and the
    # deferrals in a row of each domain in this batch; an acceptance ends a domain's storm.
    resting: dict[str, datetime] = field(default_factory=dict)
    stormy: Counter[str] = field(default_factory=Counter)

    def messages(self) -> list[Message]:
        # Messages not yet tried go first, so a domain that defers a few before resting still
        # sees every recipient in turn instead of the same few again.
        return list(self._claimed().select_related("contact__owner").order_by("attempts", "pk"))

    def run(self) -> None:
        journal = Journal(self.claim)
        throttled: dict[str, datetime] = {}
        messages = self.messages()
        self.resting = reputation.resting_domains({message.domain for message in messages})
        with delivery.transport() as carrier:
            for message in messages:
                if message.domain in throttled:
                    self._defer(message, throttled[message.domain], "throttled: domain rate limit", retry=False)
                    continue
                if message.domain in self.resting:
                    until = self.resting[message.domain]
                    self._defer(message, until, "waiting: the domain deferred messages, backing off", retry=False)
                    continue
                outgoing = self._compose(message)
                if outgoing is None:
                    continue
                decision = self.throttle.take(message.domain, journal.before_send(message.pk))
                if decision.allowed and decision.wait:
                    time.sleep(decision.wait)
                    if not journal.mark_wire(message.pk):
                        decision = Decision(Limit.REVOKED, 0)
                if decision.blocked_by is Limit.REVOKED:
                    log.warning(
                        "campaign %s batch %s: claim revoked (lease ran out); stopping", self.campaign.pk, self.batch
                    )
                    break
                if not decision.allowed:
                    until = timezone.now() + timedelta(seconds=decision.wait)
                    if decision.blocked_by is Limit.DOMAIN:
                        throttled[message.domain] = until
                        self._defer(message, until, "throttled: domain rate limit", retry=False)
                        continue
                    self._write()
                    self._release(Status.DEFERRED, not_before=until, error=f"throttled: {decision.blocked_by} cap")
                    break
                try:
                    self._send(carrier, journal, message, outgoing)
                except Exception as error:  # one message must never hold up its batch
                    self._unexpected(message, error, carrier)
                pending = len(self.sent) + len(self.changed)
                if (
                    pending >= settings.SEND_FLUSH_EVERY or time.monotonic() - self.last_flush > 1
                ) and not self.flush():
                    break
        self.flush()
        journal.delete()
        self._schedule_retry()

    def _compose(self, message: Message) -> delivery.Outgoing | None:
        """Rendered before its token is taken, so the journal never marks an unsendable message on the wire."""
        try:
            template, source = self.sources[message.variant]
            return delivery.compose(
                template,
                source(message.contact, message.pk),
                campaign_id=self.campaign.pk,
                contact_id=message.contact_id,
                email=message.email,
                message_id=message.pk,
            )
        except delivery.UnsendableError as error:
            self.attempted += 1
            self._fail(message, str(error), bounce=False)
        except Exception as error:  # one message must never hold up its batch
            self._unexpected(message, error)
        return None

    def _unexpected(self, message: Message, error: Exception, carrier=None) -> None:
        """An error the pipeline does not know: the message fails with the reason and is never
        retried (it may have reached the wire), and it counts towards the batch's error rate."""
        log.exception("campaign %s message %s: unexpected error", self.campaign.pk, message.pk)
        if carrier is not None:
            # The connection may be mid-command; the next message starts on a fresh one.
            carrier.close()
        self.attempted += 1
        self._fail(message, f"unexpected error: {type(error).__name__}: {error}"[:500], bounce=False)

    def _send(self, carrier, journal: Journal, message: Message, outgoing: delivery.Outgoing) -> None:
        result = carrier.send(outgoing)
        self.attempted += 1
        if result.outcome is delivery.Outcome.SENT:
            journal.sent(message.pk)
            self.sent.append(message.pk)
            if self.stormy.pop(message.domain, 0):
                reputation.note_delivery(message.domain)
        elif result.outcome is delivery.Outcome.FAILED:
            self._fail(message, result.detail, bounce=True)
        else:
            retry_at = timezone.now() + timedelta(seconds=backoff(message.attempts))
            if reputation.is_storm(result.code, self.stormy[message.domain] + 1):
                # The rest of this domain's messages wait out its back-off untried; other domains go on.
                self.resting[message.domain] = reputation.note_deferral(message.domain)
                retry_at = max(retry_at, self.resting[message.domain])
            self.stormy[message.domain] += 1
            self._defer(message, retry_at, result.detail)

    def _fail(self, message: Message, detail: str, *, bounce: bool) -> None:
        self.failed += 1
        self.last_error = detail
        message.status, message.error, message.lease_until = Status.FAILED, detail, None
        self.changed.append(message)
        self.outcomes.append((message, Activity.Kind.FAILED))
        if bounce:
            self.bounced.append(message)

    def _defer(self, message: Message, until: datetime, detail: str, *, retry: bool = True) -> None:
        expired = timezone.now() - self.campaign.started_at > timedelta(seconds=settings.SEND_RETRY_MAX_AGE_SECONDS)
        if retry and expired:
            self._fail(message, f"gave up retrying: {detail}", bounce=False)
            return
        message.status, message.not_before, message.error, message.lease_until = Status.DEFERRED, until, detail, None
        if retry:
            self.outcomes.append((message, Activity.Kind.DEFERRED))
        else:
            message.attempts -= 1  # waiting for a rate limit is not a delivery attempt
        self.changed.append(message)

    def _write(self) -> str:
        """Save the outcomes gathered so far and renew the lease; returns the campaign's status."""
        now = timezone.now()
        with transaction.atomic():
            mark_sent(self.campaign.pk, self.claim, self.sent, now)
            # Rows reclaimed after a lapsed lease are someone else's now.
            ours = set(self._claimed().filter(pk__in=[m.pk for m in self.changed]).values_list("pk", flat=True))
            Message.objects.bulk_update(
                [m for m in self.changed if m.pk in ours], ["status", "error", "not_before", "lease_until", "attempts"]
            )
            contact_services.record_many(
                Activity(
                    contact_id=message.contact_id,
                    kind=kind,
                    campaign_id=self.campaign.pk,
                    message_id=message.pk,
                    occurred_at=now,
                    details={"reason": message.error[:200]},
                )
                for message, kind in self.outcomes
                if message.pk in ours
            )
            for message in (m for m in self.bounced if m.pk in ours):
                contact_services.mark_bounced(
                    message.contact,
                    campaign_id=self.campaign.pk,
                    message_id=message.pk,
                    source="smtp",
                    reason=message.error,
                )
            self._claimed().update(lease_until=now + timedelta(seconds=settings.SEND_LEASE_SECONDS))
            status = Campaign.objects.filter(pk=self.campaign.pk).values_list("status", flat=True).get()
        self.sent, self.changed, self.bounced, self.outcomes = [], [], [], []
        self.last_flush = time.monotonic()
        return status

    def flush(self) -> bool:
        """Write outcomes; returns False (after handing back the unsent rows) once the campaign stopped sending."""
        status = self._write()
        beat(self.campaign.pk)
        if status == Campaign.Status.SENDING and self._error_rate_exceeded():
            Campaign.objects.stop(self.campaign.pk, error_policy_reason(self.failed, self.attempted, self.last_error))
            status = Campaign.Status.PAUSED
        if status == Campaign.Status.SENDING:
            return True
        if status == Campaign.Status.CANCELLED:
            self._release(Status.CANCELLED)
        else:
            self._release(Status.QUEUED, claim="")
        return False

    def _claimed(self):
        return claimed(self.campaign.pk, self.batch, self.claim)

    def _error_rate_exceeded(self) -> bool:
        return (
            self.attempted >= settings.SEND_ERROR_RATE_MIN_SAMPLE
            and self.failed / self.attempted > settings.SEND_ERROR_RATE_THRESHOLD
        )

    def _release(self, status: str, **fields) -> None:
        """Rows of this claim not yet tried: nothing of them was on the wire, so they may go again."""
        with transaction.atomic():
            released = self._claimed().update(status=status, lease_until=None, **fields)
            # A resume between our status check and this release found these rows still claimed.
            resumed = Campaign.objects.is_sending(self.campaign.pk)
            if released and status == Status.QUEUED and resumed:
                queue.send_batches(self.campaign.pk, [self.batch])

    def _schedule_retry(self) -> None:
        now = timezone.now()
        rows = Message.objects.filter(campaign_id=self.campaign.pk, batch=self.batch)
        for batch, first_due in waiting_batches(rows, now, only_later=False):
            queue.send_batches(self.campaign.pk, [batch], countdown=max(0.0, (first_due - now).total_seconds()))


def content_sources(
    campaign: Campaign, variants: set[int]
) -> dict[int, tuple[delivery.MessageTemplate, ContentSource]]:
    """Header template and renderer of each variant in a batch (the renderer caches the inlined
    HTML per process, so preparing per batch costs a few queries, not premailer)."""
    sources = {}
    for variant in variants:
        spec = version.spec_for(campaign, variant)
        prepared = version.prepare_spec_of(campaign, spec)
        sources[variant] = (
            delivery.template_for(campaign, spec.from_name),
            lambda contact, message_id, prepared=prepared: prepared.render(recipient_for(contact, message_id)),
        )
    return sources


def send_batch(campaign_id: int, batch: int) -> None:
    """Claim one batch and send what it holds; whoever loses the claim does nothing.

    A campaign that no longer renders (a merge error, a deleted layout) fails with the reason;
    one whose headers cannot be built (a sender name saved with a line break before names were
    validated) pauses with the reason, to be fixed and resumed. Either way the claimed rows go
    back to the queue untouched. Any other error that stops the batch (a misconfigured ESP, say)
    would stop every retry the same way: the claim is settled from its journal, as for a dead
    worker, and the campaign pauses with the reason.
    """
    claim = claim_batch(campaign_id, batch)
    if claim is None:
        return
    with Heartbeat(claim):
        try:
            _send_claimed(campaign_id, batch, claim)
        except Exception as error:
            log.exception("campaign %s batch %s: stopped by an unexpected error", campaign_id, batch)
            settle(campaign_id, batch, claim, timezone.now())
            reason = f"paused automatically: unexpected error: {type(error).__name__}: {error}"
            Campaign.objects.stop(campaign_id, reason[:1000])
            return
    finish_if_done(campaign_id)


def _send_claimed(campaign_id: int, batch: int, claim: str) -> None:
    campaign = Campaign.objects.select_related("sender").get(pk=campaign_id)
    rows = claimed(campaign_id, batch, claim)
    try:
        sources = content_sources(campaign, set(rows.values_list("variant", flat=True).distinct()))
    except (MergeError, RenderError) as error:
        rows.update(status=Status.QUEUED, claim="", lease_until=None)
        Campaign.objects.fail(campaign_id, f"cannot render: {error}")
        return
    except delivery.UnsendableError as error:
        rows.update(status=Status.QUEUED, claim="", lease_until=None)
        Campaign.objects.stop(campaign_id, f"paused automatically: cannot build the headers: {error}")
        return
    BatchSender(campaign, batch, claim, sources).run()
