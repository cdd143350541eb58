"""The send pipeline: freeze the audience into Message rows, hand out batches, claim them,
send, record, and recover from workers that died.

Each Message row's status is the only record of progress (saved when work is done, never
when it is fetched). A worker claims a batch by moving its rows from queued to sending
under a random claim id with a lease, and keeps a short-lived heartbeat key alive while it
holds the claim; while it sends, a Redis hash per claim notes which message is on the wire
and which were accepted since the last database write. If the worker dies (its heartbeat
goes, or its lease runs out), :func:`reclaim_expired_leases` reads that hash: accepted ones
become sent, the one on the wire becomes unknown (never resent), the rest go back to the queue.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as time_of_day
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from redis.exceptions import RedisError

from campaigns import delivery, reputation, version
from campaigns.audience import audience
from campaigns.models import Campaign, Message
from campaigns.throttle import Decision, Limit, Note, Throttle
from campaigns.throttle import client as redis_client
from contacts import services as contact_services
from contacts.models import Activity, Contact
from templates_mail.merge import MergeError
from templates_mail.recipient import recipient_for
from templates_mail.rendering import RenderError

log = logging.getLogger(__name__)
Status = Message.Status
NON_FINAL = [Status.QUEUED, Status.SENDING, Status.DEFERRED]
CLAIM_PREFIX = "rapport:claim"
HEARTBEAT_PREFIX = "rapport:campaign-heartbeat"
ALIVE_PREFIX = "rapport:claim-alive"


def _enqueue_batches(campaign_id: int, batches: list[int], countdown: float = 0) -> None:
    from campaigns import tasks  # tasks import this module

    for batch in batches:
        transaction.on_commit(
            lambda batch=batch: tasks.send_batch.apply_async((campaign_id, batch), countdown=countdown)
        )


# --- Freezing the audience --------------------------------------------------------------------
def freeze_audience(campaign: Campaign, variants: int = 1, test_share: int = 0) -> int:
    """Insert one queued Message per audience contact in a single INSERT ... SELECT.

    Rows are numbered into batches of SEND_BATCH_SIZE in SQL. With ``variants`` > 1 a
    ``test_share`` percent of contacts (spread by id) get variants 0..n-1 round robin and
    the rest are held for the winner (variant set once the A/B test is decided).
    """
    # Aliased columns, so the outer SELECT can name them on SQLite too.
    contacts = (
        audience(campaign)
        .order_by()
        .annotate(r_id=F("pk"), r_email=F("email"), r_domain=F("email_domain"))
        .values_list("r_id", "r_email", "r_domain")
    )
    try:
        sql, params = contacts.query.sql_with_params()
    except EmptyResultSet:  # nothing included: no list and no segment
        return 0
    in_test = "((a.r_id * 7919) %% 100) < %s"
    if variants > 1:
        variant = f"CASE WHEN {in_test} THEN a.r_id %% %s ELSE 0 END"
        status = f"CASE WHEN {in_test} THEN 'queued' ELSE 'held' END"
        select_params = [test_share, variants, test_share]
    else:
        variant, status, select_params = "0", "'queued'", []
    table = connection.ops.quote_name(Message._meta.db_table)
    # Only our own fragments and the ORM's compiled query are interpolated; values are parameters.
    insert = (
        f"INSERT INTO {table} (campaign_id, contact_id, email, domain, variant, status, batch, attempts, error, claim) "  # noqa: S608
        f"SELECT %s, a.r_id, a.r_email, a.r_domain, {variant}, {status}, "
        f"(ROW_NUMBER() OVER (ORDER BY a.r_id) - 1) / %s, 0, '', '' "
        f"FROM ({sql}) a WHERE 1 = 1 ON CONFLICT (campaign_id, contact_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, [campaign.pk, *select_params, settings.SEND_BATCH_SIZE, *params])
        return cursor.rowcount


def spread_by_time_zone(campaign: Campaign, local_time: time_of_day) -> None:
    """Hold each message until ``local_time`` in its contact's time zone (the next such moment
    after the start): one UPDATE per distinct zone, contacts without a valid zone use TIME_ZONE."""
    default = ZoneInfo(settings.TIME_ZONE)
    rows = Message.objects.filter(campaign=campaign)
    for name in rows.values_list("contact__time_zone", flat=True).distinct():
        try:
            zone = ZoneInfo(name) if name else default
        except (ZoneInfoNotFoundError, ValueError):
            zone = default
        local = campaign.started_at.astimezone(zone)
        target = local.replace(hour=local_time.hour, minute=local_time.minute, second=0, microsecond=0)
        if target < local:
            target += timedelta(days=1)
        rows.filter(contact__time_zone=name).update(not_before=target)


def _due(now: datetime) -> Q:
    return Q(status__in=[Status.QUEUED, Status.DEFERRED]) & (Q(not_before__isnull=True) | Q(not_before__lte=now))


def _waiting_batches(rows, now: datetime, *, only_later: bool) -> list[tuple[int, datetime]]:
    """(batch, first due time) of rows held until a time before the next stall check (later ones
    are dispatched by the tick, so no countdown outlives the broker's visibility timeout);
    ``only_later`` leaves out rows already due."""
    horizon = now + timedelta(seconds=settings.SEND_STALL_SECONDS)
    waiting = rows.filter(status__in=[Status.QUEUED, Status.DEFERRED], not_before__lte=horizon)
    if only_later:
        waiting = waiting.filter(not_before__gt=now)
    return list(waiting.values_list("batch").annotate(due=Min("not_before")).values_list("batch", "due"))


def dispatch(campaign_id: int) -> int:
    """Enqueue one send_batch task per batch that has claimable messages; returns how many."""
    now = timezone.now()
    rows = Message.objects.filter(campaign_id=campaign_id)
    batches = list(rows.filter(_due(now)).order_by("batch").values_list("batch", flat=True).distinct())
    _enqueue_batches(campaign_id, batches)
    for batch, first_due in _waiting_batches(rows, now, only_later=True):
        _enqueue_batches(campaign_id, [batch], countdown=(first_due - now).total_seconds())
    redis_client().set(f"{HEARTBEAT_PREFIX}:{campaign_id}", 1, ex=settings.SEND_STALL_SECONDS)
    return len(batches)


# --- Claiming -----------------------------------------------------------------------------------
def _no_longer_sendable() -> Q:
    return ~Q(contact__status=Contact.Status.SUBSCRIBED) | Q(
        contact__in=Contact.objects.filter(Contact.objects.suppressed_q())
    )


def claim_batch(campaign_id: int, batch: int) -> str | None:
    """Move the batch's due rows to sending under a new claim id; None when there is nothing to do.

    Contacts who unsubscribed (or were suppressed) since the audience was frozen are skipped here.
    """
    claim, now = uuid.uuid4().hex, timezone.now()
    # Alive before the rows are ours, so a reclaim running meanwhile never sees the claim without it.
    Heartbeat(claim).beat()
    due = Message.objects.filter(campaign_id=campaign_id, batch=batch).filter(_due(now))
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).exists():
            return None
        if connection.vendor == "postgresql":
            due = Message.objects.filter(
                pk__in=list(due.select_for_update(skip_locked=True).values_list("pk", flat=True))
            )
        lease = now + timedelta(seconds=settings.SEND_LEASE_SECONDS)
        if not due.update(status=Status.SENDING, claim=claim, lease_until=lease, attempts=F("attempts") + 1):
            return None
        Message.objects.filter(campaign_id=campaign_id, batch=batch, claim=claim).filter(_no_longer_sendable()).update(
            status=Status.SKIPPED, lease_until=None, error="unsubscribed or suppressed after the audience was frozen"
        )
    return claim


# --- Recording outcomes -------------------------------------------------------------------
def _mark_sent(campaign_id: int, claim: str, message_ids: list[int], when: datetime) -> None:
    rows = list(
        Message.objects.filter(pk__in=message_ids, claim=claim, status=Status.SENDING).values_list("pk", "contact_id")
    )
    if not rows:
        return
    Message.objects.filter(pk__in=[pk for pk, _ in rows]).update(status=Status.SENT, sent_at=when, lease_until=None)
    contact_services.record_many(
        Activity(contact_id=contact, kind=Activity.Kind.SENT, campaign_id=campaign_id, message_id=pk, occurred_at=when)
        for pk, contact in rows
    )
    contact_services.touch_last_sent([contact for _, contact in rows], when)


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter: between half and all of base * 2^(attempts-1), capped."""
    ceiling = min(settings.SEND_RETRY_MAX_DELAY_SECONDS, settings.SEND_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


# Marks a message on the wire unless the claim was revoked (see Journal.revoke_and_read).
_MARK_WIRE = """
if redis.call('HEXISTS', KEYS[1], 'revoked') == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], 'w')
return 1
"""


class Journal:
    """Per-claim record in Redis of the message on the wire and those accepted since the last flush.

    Written by the throttle's script together with each slot (:class:`throttle.Note`). Once
    :meth:`revoke_and_read` has run, no message of the claim can be marked on the wire again,
    so a worker that outlived its lease stops before sending anything someone else may resend.
    """

    def __init__(self, claim: str) -> None:
        self.note = Note(f"{CLAIM_PREFIX}:{claim}")
        self._mark_wire = redis_client().register_script(_MARK_WIRE)

    def before_send(self, message_id: int) -> Note:
        self.note.wire = message_id
        return self.note

    def mark_wire(self, message_id: int) -> bool:
        """For a message that waited for its slot (the throttle's call did not mark it); False if revoked."""
        return bool(self._mark_wire(keys=[self.note.key], args=[message_id]))

    def sent(self, message_id: int) -> None:
        self.note.accepted.append(message_id)

    def revoke_and_read(self) -> dict[int, str]:
        """Atomically forbid further sends under this claim and return what it recorded."""
        pipe = redis_client().pipeline(transaction=True)
        pipe.hset(self.note.key, "revoked", 1)
        pipe.expire(self.note.key, 86400)
        pipe.hgetall(self.note.key)
        entries = pipe.execute()[-1]
        return {int(key): value.decode() for key, value in entries.items() if key != b"revoked"}

    def delete(self) -> None:
        redis_client().delete(self.note.key)


class Heartbeat:
    """A Redis key that lives while this process holds a claim: refreshed every SEND_HEARTBEAT_SECONDS
    by a thread, so a worker waiting on a slow server or a rate limit still shows it is alive, and
    gone within three intervals of a kill -9, long before the claim's lease would run out."""

    def __init__(self, claim: str) -> None:
        self.key = f"{ALIVE_PREFIX}:{claim}"
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        redis_client().set(self.key, 1, ex=3 * settings.SEND_HEARTBEAT_SECONDS)

    def _run(self) -> None:
        while not self._stopped.wait(settings.SEND_HEARTBEAT_SECONDS):
            try:
                self.beat()
            except RedisError:
                log.warning("heartbeat %s not refreshed", self.key, exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {self.key}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopped.set()
        self._thread.join()
        redis_client().delete(self.key)


def _alive(claims: list[str]) -> list[bool]:
    pipe = redis_client().pipeline(transaction=False)
    for claim in claims:
        pipe.exists(f"{ALIVE_PREFIX}:{claim}")
    return [bool(found) for found in pipe.execute()]


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
        if bounce:
            self.bounced.append(message)

    def _defer(self, message: Message, until: datetime, detail: str, *, retry: bool = True) -> None:
        expired = timezone.now() - self.campaign.started_at > timedelta(seconds=settings.SEND_RETRY_MAX_AGE_SECONDS)
        if retry and expired:
            self._fail(message, f"gave up retrying: {detail}", bounce=False)
            return
        message.status, message.not_before, message.error, message.lease_until = Status.DEFERRED, until, detail, None
        if not retry:
            message.attempts -= 1  # waiting for a rate limit is not a delivery attempt
        self.changed.append(message)

    def _write(self) -> str:
        """Save the outcomes gathered so far and renew the lease; returns the campaign's status."""
        now = timezone.now()
        with transaction.atomic():
            _mark_sent(self.campaign.pk, self.claim, self.sent, now)
            # Rows reclaimed after a lapsed lease are someone else's now.
            ours = set(self._claimed().filter(pk__in=[m.pk for m in self.changed]).values_list("pk", flat=True))
            Message.objects.bulk_update(
                [m for m in self.changed if m.pk in ours], ["status", "error", "not_before", "lease_until", "attempts"]
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
        self.sent, self.changed, self.bounced, self.last_flush = [], [], [], time.monotonic()
        return status

    def flush(self) -> bool:
        """Write outcomes; returns False (after handing back the unsent rows) once the campaign stopped sending."""
        status = self._write()
        redis_client().set(f"{HEARTBEAT_PREFIX}:{self.campaign.pk}", 1, ex=settings.SEND_STALL_SECONDS)
        if status == Campaign.Status.SENDING and self._error_rate_exceeded():
            from campaigns import services  # services import this module

            services.stop_for_errors(
                self.campaign, failed=self.failed, attempted=self.attempted, last_error=self.last_error
            )
            status = Campaign.Status.PAUSED
        if status == Campaign.Status.SENDING:
            return True
        if status == Campaign.Status.CANCELLED:
            self._release(Status.CANCELLED)
        else:
            self._release(Status.QUEUED, claim="")
        return False

    def _claimed(self):
        return Message.objects.filter(
            campaign_id=self.campaign.pk, batch=self.batch, claim=self.claim, status=Status.SENDING
        )

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
            resumed = Campaign.objects.filter(pk=self.campaign.pk, status=Campaign.Status.SENDING).exists()
            if released and status == Status.QUEUED and resumed:
                _enqueue_batches(self.campaign.pk, [self.batch])

    def _schedule_retry(self) -> None:
        now = timezone.now()
        rows = Message.objects.filter(campaign_id=self.campaign.pk, batch=self.batch)
        for batch, first_due in _waiting_batches(rows, now, only_later=False):
            _enqueue_batches(self.campaign.pk, [batch], countdown=max(0.0, (first_due - now).total_seconds()))


# --- Batches, end to end -----------------------------------------------------------------------
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
    from campaigns import services  # services import this module

    claim = claim_batch(campaign_id, batch)
    if claim is None:
        return
    with Heartbeat(claim):
        try:
            _send_claimed(campaign_id, batch, claim)
        except Exception as error:
            log.exception("campaign %s batch %s: stopped by an unexpected error", campaign_id, batch)
            _settle(campaign_id, batch, claim, timezone.now())
            reason = f"paused automatically: unexpected error: {type(error).__name__}: {error}"
            services.stop(Campaign.objects.get(pk=campaign_id), reason[:1000])
            return
    finish_if_done(campaign_id)


def _send_claimed(campaign_id: int, batch: int, claim: str) -> None:
    from campaigns import services  # services import this module

    campaign = Campaign.objects.select_related("sender").get(pk=campaign_id)
    claimed = Message.objects.filter(campaign_id=campaign_id, batch=batch, claim=claim, status=Status.SENDING)
    try:
        sources = content_sources(campaign, set(claimed.values_list("variant", flat=True).distinct()))
    except (MergeError, RenderError) as error:
        claimed.update(status=Status.QUEUED, claim="", lease_until=None)
        services.fail(campaign, f"cannot render: {error}")
        return
    except delivery.UnsendableError as error:
        claimed.update(status=Status.QUEUED, claim="", lease_until=None)
        services.stop(campaign, f"paused automatically: cannot build the headers: {error}")
        return
    BatchSender(campaign, batch, claim, sources).run()


def finish_if_done(campaign_id: int) -> bool:
    """sending -> sent, only once no message of the campaign is left in a non-final state."""
    if Message.objects.filter(campaign_id=campaign_id, status__in=[*NON_FINAL, Status.HELD]).exists():
        return False
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).update(
            status=Campaign.Status.SENT, finished_at=timezone.now()
        )
    )


# --- Recovery ---------------------------------------------------------------------------------
def reclaim_expired_leases() -> int:
    """Settle the rows of claims whose worker died (its heartbeat is gone, or its lease ran out):
    accepted -> sent, on the wire -> unknown, the rest back to the queue. Returns how many rows were settled.

    The campaign is dispatched again as a whole: the dead worker may also have reserved tasks
    for other batches, which the broker would hold back until its visibility timeout. A batch
    dispatched twice is harmless, since only one task can claim its rows."""
    now = timezone.now()
    held = list(
        Message.objects.filter(status=Status.SENDING)
        .values_list("campaign_id", "batch", "claim")
        .annotate(lease=Min("lease_until"))
        .order_by()
    )
    alive = _alive([claim for _, _, claim, _ in held])
    settled, campaigns = 0, set()
    for (campaign_id, batch, claim, lease), live in zip(held, alive, strict=True):
        if live and (lease is None or lease >= now):
            continue
        # A worker that has just finished deleted its heartbeat after writing its rows: nothing to settle.
        if rows := _settle(campaign_id, batch, claim, now):
            settled += rows
            campaigns.add(campaign_id)
            log.warning("campaign %s batch %s: reclaimed the claim of a worker that stopped", campaign_id, batch)
    for campaign_id in campaigns:
        if Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).exists():
            dispatch(campaign_id)
    return settled


def _settle(campaign_id: int, batch: int, claim: str, now: datetime) -> int:
    """Revoke the claim (its worker, if alive after all, can send nothing more) and settle its rows from its journal."""
    notes = Journal(claim).revoke_and_read()
    with transaction.atomic():
        rows = Message.objects.filter(campaign_id=campaign_id, batch=batch, claim=claim, status=Status.SENDING)
        settled = rows.count()
        _mark_sent(campaign_id, claim, [pk for pk, note in notes.items() if note == "s"], now)
        rows.filter(pk__in=[pk for pk, note in notes.items() if note == "w"]).update(
            status=Status.UNKNOWN, lease_until=None, error="on the wire when its worker stopped; not resent"
        )
        rows.update(status=Status.QUEUED, claim="", lease_until=None)
    return settled


def redispatch_stalled() -> list[int]:
    """Re-dispatch campaigns that have waiting rows but nobody working on them for SEND_STALL_SECONDS.

    A task reserved by a worker that was killed stays invisible in the broker until its
    visibility timeout (hours); its batch would wait that long without this. Rows held for a
    later time (local-time delivery, long retries) are handed out here as they come within reach.
    """
    client = redis_client()
    stalled = []
    for pk in Campaign.objects.filter(status=Campaign.Status.SENDING).values_list("pk", flat=True):
        if client.exists(f"{HEARTBEAT_PREFIX}:{pk}") or finish_if_done(pk):
            continue
        rows = Message.objects.filter(campaign_id=pk)
        waiting = rows.filter(status__in=[Status.QUEUED, Status.DEFERRED]).exists()
        if waiting and not rows.filter(status=Status.SENDING).exists():
            dispatch(pk)
            stalled.append(pk)
    return stalled


# --- Progress -----------------------------------------------------------------------------------
# The sending rate is measured over the last minute of the send (or since it started, if later).
RATE_WINDOW = timedelta(seconds=60)


def progress(campaign: Campaign) -> dict:
    """Counts per status, the sending rate and an ETA, for the admin's progress bar and the CLI.

    While sending, the rate is what was sent in the last minute divided by the time that
    really passed in it (a send that started 3 s ago is not averaged over 60 s); once the
    campaign is over it is the average of the whole send. The ETA is only given while sending.
    """
    counts = dict(
        Message.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    now = timezone.now()
    rate = None
    if campaign.status == Campaign.Status.SENDING:
        since = max(now - RATE_WINDOW, campaign.started_at or now - RATE_WINDOW)
        recent = Message.objects.filter(campaign=campaign, status=Status.SENT, sent_at__gte=since).count()
        rate = recent / max((now - since).total_seconds(), 1.0)
    elif campaign.started_at and campaign.finished_at and counts.get(Status.SENT):
        rate = counts[Status.SENT] / max((campaign.finished_at - campaign.started_at).total_seconds(), 1.0)
    remaining = sum(counts.get(status, 0) for status in NON_FINAL)
    return {
        "status": campaign.status,
        "reason": campaign.status_reason,
        "total": sum(counts.values()),
        **{status: counts.get(status, 0) for status in Status.values},
        "rate_per_second": None if rate is None else round(rate, 1),
        "eta_seconds": round(remaining / rate) if rate and campaign.status == Campaign.Status.SENDING else None,
    }
