"""The one place journeys meet the campaign send pipeline (an adapter the lead can swap for the
"campaign version spec -> renderer" boundary): an email step of a journey version owns one
Campaign, kept in the sending state, and the engine hands it queued Message rows; the
pipeline then delivers them with its throttle, DKIM and exactly-once claims."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from html import escape
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.utils import timezone

from automations.content import campaign_fields
from automations.models import JourneyVersion, StepCampaign
from campaigns import dispatch
from campaigns.models import Campaign, Message
from campaigns.version import prepare
from contacts.models import Activity, Contact
from templates_mail.recipient import recipient_for

# Messages that count towards the global cap: sent in the window, or still on their way.
ON_THE_WAY = Message.Status.unfinished()


def body_blocks(step: dict[str, Any]) -> list[dict[str, Any]]:
    """StreamField data of the campaign builder's blocks for an email step."""
    blocks: list[dict[str, Any]] = []
    if step.get("heading"):
        blocks.append({"type": "heading", "value": {"text": step["heading"], "level": "h1"}})
    paragraphs = "".join(
        f"<p>{escape(part.strip(), quote=False)}</p>" for part in str(step["text"]).split("\n\n") if part.strip()
    )
    blocks.append({"type": "text", "value": {"text": paragraphs}})
    button = step.get("button") or {}
    if button.get("label") and button.get("url"):
        blocks.append({"type": "button", "value": {"label": button["label"], "url": button["url"], "align": "center"}})
    question = step.get("question") or {}
    if question.get("text"):
        value = {"question": str(question["text"]), "scale": str(question.get("scale") or 5)}
        blocks.append({"type": "satisfaction", "value": value})
    return blocks


def campaign_for(version: JourneyVersion, key: str, step: dict[str, Any], round_no: int = 0) -> Campaign:
    """The campaign of this email step of this version for a contact's ``round_no``-th pass
    (counted from 0), created on first use."""
    found = StepCampaign.objects.filter(version=version, key=round_key(key, round_no)).select_related("campaign")
    if found := found.first():
        return found.campaign
    again = f" again ({round_no + 1})" if round_no else ""
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=f"{version.journey.name} · {key}{again} (journey v{version.number})"[:200],
            **campaign_fields(step, body_blocks),
            status=Campaign.Status.SENDING,
            started_at=timezone.now(),
        )
        StepCampaign.objects.create(version=version, key=round_key(key, round_no), campaign=campaign)
    return campaign


def round_key(key: str, round_no: int) -> str:
    """StepCampaign key of a step's campaign for later passes: within 32 characters whatever the
    step key's length, and never a step key the editor makes (those never start with "~")."""
    return f"~{round_no}~{_digest(key)}" if round_no else key


def step_key(key: str, step_keys: list[str]) -> str:
    """The step a StepCampaign key belongs to, among the keys of its version."""
    if not key.startswith("~"):
        return key
    digest = key.rsplit("~", 1)[1]
    return next((step for step in step_keys if _digest(step) == digest), key)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def step_campaign_ids(version_id: int, key: str) -> list[int]:
    """Every campaign of an email step, first pass first (for its reports and behaviour conditions)."""
    rounds = Q(key=key) | Q(key__startswith="~", key__endswith=f"~{_digest(key)}")
    return list(
        StepCampaign.objects.filter(rounds, version_id=version_id)
        .order_by("campaign_id")
        .values_list("campaign_id", flat=True)
    )


def campaign_id_for(version_id: int, key: str) -> int | None:
    return StepCampaign.objects.filter(version_id=version_id, key=key).values_list("campaign_id", flat=True).first()


def send(version: JourneyVersion, key: str, step: dict[str, Any], contact_ids: list[int]) -> None:
    """Queue an email step's mail to each contact. A campaign mails a contact once, so a contact
    that had this step's mail on an earlier pass (re-entry, a yearly date) gets it through the
    step's next campaign that has not mailed it yet; the step run keeps it to once per pass."""
    pending, round_no = contact_ids, 0
    while pending:
        campaign = campaign_for(version, key, step, round_no)
        queued = queue(campaign, pending)
        already = Message.objects.filter(campaign=campaign, contact_id__in=pending).exclude(contact_id__in=queued)
        pending, round_no = list(already.values_list("contact_id", flat=True)), round_no + 1


def engaged(version_id: int, key: str, contact_ids: list[int], kind: str) -> set[int]:
    """Contacts with a human ``kind`` (opened, clicked) event on the last mail of step ``key`` they were sent."""
    campaigns = step_campaign_ids(version_id, key)
    if not campaigns:
        return set()
    last = Message.objects.filter(contact_id=OuterRef("contact_id"), campaign_id__in=campaigns).order_by("-campaign_id")
    events = Activity.objects.filter(contact_id__in=contact_ids, kind=kind, is_machine=False, campaign_id__in=campaigns)
    return set(events.filter(campaign_id=Subquery(last.values("campaign_id")[:1])).values_list("contact_id", flat=True))


def capped(contact_ids: list[int]) -> set[int]:
    """Contacts that reached MARKETING_EMAILS_PER_7_DAYS, campaigns and journeys together (0 = no cap)."""
    cap = settings.MARKETING_EMAILS_PER_7_DAYS
    if not cap or not contact_ids:
        return set()
    since = timezone.now() - timedelta(days=7)
    counted = Message.objects.filter(contact_id__in=contact_ids).filter(
        Q(status__in=ON_THE_WAY) | Q(status=Message.Status.SENT, sent_at__gte=since)
    )
    heavy = counted.values("contact_id").annotate(n=Count("pk")).filter(n__gte=cap).order_by()
    return set(heavy.values_list("contact_id", flat=True))


def queue(campaign: Campaign, contact_ids: list[int]) -> set[int]:
    """Queue one Message per contact (one INSERT ... SELECT, a contact already mailed by this
    campaign is skipped) and have the pipeline dispatch after commit; returns the contacts queued."""
    if not contact_ids:
        return set()
    table = connection.ops.quote_name(Message._meta.db_table)
    contacts = connection.ops.quote_name(Contact._meta.db_table)
    batch = (Message.objects.filter(campaign=campaign).aggregate(top=Max("batch"))["top"] or 0) + 1
    marks = ", ".join(["%s"] * len(contact_ids))
    # Only our own fragments are interpolated; values are parameters.
    sql = (
        f"INSERT INTO {table} (campaign_id, contact_id, email, domain, variant, status, batch, attempts, error, claim) "  # noqa: S608
        f"SELECT %s, c.id, c.email, c.email_domain, 0, 'queued', %s, 0, '', '' FROM {contacts} c "
        f"WHERE c.id IN ({marks}) ON CONFLICT (campaign_id, contact_id) DO NOTHING RETURNING contact_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign.pk, batch, *contact_ids])
        queued = {row[0] for row in cursor.fetchall()}
    if queued:
        # The pipeline marks a campaign sent once nothing is left; a journey's goes on receiving.
        Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENT).update(
            status=Campaign.Status.SENDING, finished_at=None
        )
        transaction.on_commit(lambda: dispatch.dispatch(campaign.pk))
    return queued


def preview(version: JourneyVersion, key: str, step: dict[str, Any], contact: Contact) -> tuple[str, str]:
    """Subject and rendered HTML of an email step for one contact, without sending or saving."""
    fields = campaign_fields(step, body_blocks)
    campaign = Campaign(name=version.journey.name, **fields)
    rendered = prepare(campaign, freeze=False).render(recipient_for(contact), tracked=False)
    return rendered.subject, rendered.html
