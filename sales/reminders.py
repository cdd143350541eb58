"""Reminders at the due time and the 08:00 digest, each sent once.

A reminder moves pending -> sending (a batch claimed by one conditional UPDATE under a claim
id, with a lease) -> wire (that one row, just before it is handed to the mail server) -> sent.
When a lease runs out (the worker died), :func:`reclaim_expired` puts ``sending`` rows back to
pending, since nothing of them left the machine, and turns the ``wire`` row into ``unknown``:
it may or may not have been delivered, and like the campaign pipeline's message on the wire
at a kill it is recorded, never resent. Every step checks the claim id, so a worker that
outlived its lease cannot send a row somebody else has taken back.

The digest of one owner and local date is claimed by inserting its unique ``Digest`` row
before sending; a second tick, or a worker killed after the insert, never sends it again.
"""

import logging
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from campaigns.delivery import Outcome
from campaigns.transactional import send_transactional
from contacts.models import Contact
from sales import my_day
from sales.models import Digest, Task

log = logging.getLogger(__name__)
DIGEST_HOUR = time(8, 0)


def _due(now: datetime):
    return Task.objects.filter(
        reminder=Task.Reminder.PENDING, due_at__lte=now, done_at__isnull=True, owner__isnull=False
    ).exclude(owner__email="")


def due_count(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return _due(now).exclude(reminder_lease_until__gt=now).count()


def claim_batch(now: datetime | None = None) -> str | None:
    """Claim up to REMINDER_BATCH_SIZE due reminders; the claim id, or None when none were free.

    Rows another sender is claiming are skipped (SKIP LOCKED on PostgreSQL), and the UPDATE
    re-checks ``pending``, so two senders never share a row; a sender that lost every row of
    a race tries again rather than stopping while reminders are due.
    """
    now, claim = now or timezone.now(), uuid.uuid4().hex
    lease = now + timedelta(seconds=settings.REMINDER_LEASE_SECONDS)
    # A deferred reminder waits until its lease (used as "not before") has passed.
    free = _due(now).exclude(reminder_lease_until__gt=now).order_by("due_at")
    for _ in range(3):
        with transaction.atomic():
            ids = list(
                free.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                    : settings.REMINDER_BATCH_SIZE
                ]
            )
            if not ids:
                return None
            if Task.objects.filter(pk__in=ids, reminder=Task.Reminder.PENDING).update(
                reminder=Task.Reminder.SENDING, reminder_claim=claim, reminder_lease_until=lease
            ):
                return claim
    return None


def _on_the_wire(task_id: int, claim: str) -> bool:
    lease = timezone.now() + timedelta(seconds=settings.REMINDER_LEASE_SECONDS)
    return bool(
        Task.objects.filter(
            pk=task_id, reminder_claim=claim, reminder=Task.Reminder.SENDING, done_at__isnull=True
        ).update(reminder=Task.Reminder.WIRE, reminder_lease_until=lease)
    )


def _finish(task_id: int, claim: str, outcome: str) -> None:
    mine = Task.objects.filter(pk=task_id, reminder_claim=claim, reminder=Task.Reminder.WIRE)
    if outcome == Outcome.SENT:
        mine.update(reminder=Task.Reminder.SENT, reminded_at=timezone.now(), reminder_lease_until=None)
    elif outcome == Outcome.DEFERRED:
        retry_at = timezone.now() + timedelta(seconds=settings.REMINDER_RETRY_SECONDS)
        mine.update(reminder=Task.Reminder.PENDING, reminder_claim="", reminder_lease_until=retry_at)
    else:
        mine.update(reminder=Task.Reminder.FAILED, reminder_lease_until=None)


def contact_url(contact_id: int) -> str:
    return settings.WAGTAILADMIN_BASE_URL + reverse(Contact.snippet_viewset.get_url_name("inspect"), args=[contact_id])


def _one_line(text: str) -> str:
    return " ".join(text.split())


def reminder_text(task: Task) -> tuple[str, str]:
    who = task.contact.full_name or task.contact.email
    subject = _one_line(f"Reminder: {task} ({who})")[:200]
    zone = my_day.owner_zone(task.owner)
    lines = [
        f"{task.get_kind_display().capitalize()} due {task.due_at.astimezone(zone):%a %d %b %H:%M} ({zone}).",
        f"Contact: {who} <{task.contact.email}>",
        contact_url(task.contact_id),
    ]
    if task.note:
        lines += ["", task.note]
    return subject, "\n".join(lines)


def send_claimed(claim: str) -> int:
    """Send every reminder of one claim; returns how many the mail server accepted."""
    sent = 0
    tasks = Task.objects.filter(reminder_claim=claim, reminder=Task.Reminder.SENDING).select_related("contact", "owner")
    for task in tasks.order_by("due_at"):
        if not _on_the_wire(task.pk, claim):
            continue
        subject, text = reminder_text(task)
        try:
            result = send_transactional(task.owner.email, subject, text)
        except Exception:
            # Whether the server took it is not known: recorded as such, never resent.
            log.exception("reminder for task %s: fate unknown", task.pk)
            Task.objects.filter(pk=task.pk, reminder_claim=claim).update(reminder=Task.Reminder.UNKNOWN)
            continue
        _finish(task.pk, claim, result.outcome)
        sent += result.outcome == Outcome.SENT
    # Rows of the claim done meanwhile: no reminder any more.
    Task.objects.filter(reminder_claim=claim, reminder=Task.Reminder.SENDING).update(reminder=Task.Reminder.NONE)
    return sent


def reclaim_expired(now: datetime | None = None) -> tuple[int, int]:
    """A dead worker's claims: untouched rows back to pending, the row on the wire to unknown."""
    now = now or timezone.now()
    expired = Task.objects.filter(reminder_lease_until__lt=now)
    back = expired.filter(reminder=Task.Reminder.SENDING).update(
        reminder=Task.Reminder.PENDING, reminder_claim="", reminder_lease_until=None
    )
    unknown = expired.filter(reminder=Task.Reminder.WIRE).update(
        reminder=Task.Reminder.UNKNOWN, reminder_lease_until=None
    )
    if unknown:
        log.warning("%s reminders were on the wire when their worker died: recorded as unknown", unknown)
    return back, unknown


def send_due(budget_seconds: float) -> int:
    """Claim and send batches until none is due or the time budget is spent."""
    deadline, sent = timezone.now() + timedelta(seconds=budget_seconds), 0
    while timezone.now() < deadline and (claim := claim_batch()):
        sent += send_claimed(claim)
    return sent


# --- Digest ----------------------------------------------------------------------------------


def digests_due(now: datetime | None = None) -> list[tuple[int, str]]:
    """(owner id, local date) of owners with open tasks for whom it is past 08:00 and whose
    digest of that local date has not been claimed yet."""
    from wagtail.users.models import UserProfile

    now = now or timezone.now()
    # Only owners a digest can reach, or their claim-less rows would be handed out on every tick.
    reachable = Task.objects.open().filter(owner__is_active=True).exclude(owner__email="")
    owners = set(reachable.values_list("owner_id", flat=True).distinct())
    zones = dict(UserProfile.objects.filter(user_id__in=owners).values_list("user_id", "current_time_zone"))
    due = []
    for owner_id in owners:
        local = now.astimezone(_zone(zones.get(owner_id)))
        if local.time() >= DIGEST_HOUR:
            due.append((owner_id, local.date().isoformat()))
    claimed = set(
        Digest.objects.filter(owner_id__in=owners, local_date__in={day for _, day in due}).values_list(
            "owner_id", "local_date"
        )
    )
    return [(owner_id, day) for owner_id, day in due if (owner_id, datetime.fromisoformat(day).date()) not in claimed]


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (KeyError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def digest_text(owner, edges: my_day.Bounds) -> tuple[int, str]:
    tasks = Task.objects.open().filter(owner=owner, due_at__lt=edges.end_of_today).select_related("contact")
    zone = my_day.owner_zone(owner)
    lines, count = [], 0
    for task in tasks.order_by("due_at")[:200]:
        count += 1
        late = "OVERDUE " if task.due_at < edges.now else ""
        who = task.contact.full_name or task.contact.email
        lines.append(f"- {late}{task.due_at.astimezone(zone):%d %b %H:%M} {task.get_kind_display()}: {task} ({who})")
    return count, "\n".join(lines)


def send_digest(owner_id: int, local_date: str) -> bool:
    """Claim the owner's digest of ``local_date`` by its unique row, then send it; False if
    someone else had claimed it or there was nothing to list."""
    owner = get_user_model().objects.filter(pk=owner_id, is_active=True).exclude(email="").first()
    if owner is None:
        return False
    edges = my_day.bounds(my_day.owner_zone(owner))
    count, listing = digest_text(owner, edges)
    try:
        with transaction.atomic():
            digest = Digest.objects.create(owner=owner, local_date=local_date, tasks=count)
    except IntegrityError:
        return False
    if not count:
        Digest.objects.filter(pk=digest.pk).update(status=Digest.Status.SENT)
        return False
    url = settings.WAGTAILADMIN_BASE_URL + reverse("sales_my_day")
    text = f"Your open tasks for today and those overdue ({count}):\n\n{listing}\n\nMy day: {url}"
    result = send_transactional(owner.email, f"Your day: {count} task{'s' if count != 1 else ''}", text)
    status = Digest.Status.SENT if result.outcome == Outcome.SENT else Digest.Status.FAILED
    Digest.objects.filter(pk=digest.pk).update(status=status)
    return status == Digest.Status.SENT
