"""Claims on batches of Message rows, the Redis journal of each claim, and recovery from
workers that died.

A worker claims a batch by moving its rows from queued to sending under a random claim id
with a lease, and keeps a short-lived heartbeat key alive while it holds the claim; while
it sends, a Redis hash per claim (the journal) notes which message is on the wire and which
were accepted since the last database write. If the worker dies (its heartbeat goes, or its
lease runs out), :func:`reclaim_expired_leases` reads that hash: accepted ones become sent,
the one on the wire becomes unknown (never resent), the rest go back to the queue.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone
from redis.exceptions import RedisError

from campaigns.dispatch import HEARTBEAT_PREFIX, dispatch, due, finish_if_done
from campaigns.models import Campaign, Message
from campaigns.throttle import Note
from campaigns.throttle import client as redis_client
from contacts import services as contact_services
from contacts.models import Activity, Contact

log = logging.getLogger(__name__)
Status = Message.Status
CLAIM_PREFIX = "rapport:claim"
ALIVE_PREFIX = "rapport:claim-alive"

# The journal of a claim is a Redis hash, message id -> marker. Written by the script below
# and by the throttle's script together with each slot (campaigns.throttle._TAKE writes the
# same two letters); read once by revoke_and_read.
ON_WIRE = "w"  # handed to the transport: its fate is unknown if the worker dies now
ACCEPTED = "s"  # the server accepted it: sent, whatever happens to the worker
REVOKED = "revoked"  # field set when the claim is settled: nothing more may go on the wire

# Marks a message on the wire unless the claim was revoked (see Journal.revoke_and_read).
_MARK_WIRE = f"""
if redis.call('HEXISTS', KEYS[1], '{REVOKED}') == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], '{ON_WIRE}')
return 1
"""


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
    rows = Message.objects.filter(campaign_id=campaign_id, batch=batch).filter(due(now))
    with transaction.atomic():
        if not Campaign.objects.is_sending(campaign_id):
            return None
        if connection.vendor == "postgresql":
            rows = Message.objects.filter(
                pk__in=list(rows.select_for_update(skip_locked=True).values_list("pk", flat=True))
            )
        lease = now + timedelta(seconds=settings.SEND_LEASE_SECONDS)
        if not rows.update(status=Status.SENDING, claim=claim, lease_until=lease, attempts=F("attempts") + 1):
            return None
        Message.objects.filter(campaign_id=campaign_id, batch=batch, claim=claim).filter(_no_longer_sendable()).update(
            status=Status.SKIPPED, lease_until=None, error="unsubscribed or suppressed after the audience was frozen"
        )
    return claim


def claimed(campaign_id: int, batch: int, claim: str):
    """The rows this claim still holds (rows reclaimed after a lapsed lease are someone else's)."""
    return Message.objects.filter(campaign_id=campaign_id, batch=batch, claim=claim, status=Status.SENDING)


def mark_sent(campaign_id: int, claim: str, message_ids: list[int], when: datetime) -> None:
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
        pipe.hset(self.note.key, REVOKED, 1)
        pipe.expire(self.note.key, 86400)
        pipe.hgetall(self.note.key)
        entries = pipe.execute()[-1]
        return {int(key): value.decode() for key, value in entries.items() if key != REVOKED.encode()}

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


def settle(campaign_id: int, batch: int, claim: str, now: datetime) -> int:
    """Revoke the claim (its worker, if alive after all, can send nothing more) and settle its rows from its journal."""
    notes = Journal(claim).revoke_and_read()
    with transaction.atomic():
        rows = claimed(campaign_id, batch, claim)
        settled = rows.count()
        mark_sent(campaign_id, claim, [pk for pk, note in notes.items() if note == ACCEPTED], now)
        rows.filter(pk__in=[pk for pk, note in notes.items() if note == ON_WIRE]).update(
            status=Status.UNKNOWN, lease_until=None, error="on the wire when its worker stopped; not resent"
        )
        rows.update(status=Status.QUEUED, claim="", lease_until=None)
    return settled


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
        if rows := settle(campaign_id, batch, claim, now):
            settled += rows
            campaigns.add(campaign_id)
            log.warning("campaign %s batch %s: reclaimed the claim of a worker that stopped", campaign_id, batch)
    for campaign_id in campaigns:
        if Campaign.objects.is_sending(campaign_id):
            dispatch(campaign_id)
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
        waiting = rows.filter(status__in=Status.waiting()).exists()
        if waiting and not rows.filter(status=Status.SENDING).exists():
            dispatch(pk)
            stalled.append(pk)
    return stalled
