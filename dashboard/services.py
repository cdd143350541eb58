"""The dashboard's figures, each a few SQL aggregates whatever the size of the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Message, SenderIdentity
from contacts import engagement
from contacts.models import Activity, Contact, MailingList

RECENT_CAMPAIGNS = 5
# Above these shares of last month's sends, mailbox providers start filtering (Gmail's and
# Yahoo's bulk-sender rules name 0.3% complaints as the limit; aim well below it).
HARD_BOUNCE_WARNING = 0.02
COMPLAINT_WARNING = 0.001
WINDOW_DAYS = 30
Kind = Activity.Kind


@dataclass(frozen=True)
class AudienceFigures:
    total: int
    subscribed: int
    joined_this_month: int
    left_this_month: int

    @property
    def growth(self) -> int:
        return self.joined_this_month - self.left_this_month


@dataclass(frozen=True)
class CampaignFigures:
    campaign: Campaign
    sent: int
    opened: int
    clicked: int

    @property
    def open_rate(self) -> float | None:
        return self.opened / self.sent if self.sent else None

    @property
    def click_rate(self) -> float | None:
        return self.clicked / self.sent if self.sent else None


@dataclass(frozen=True)
class NextStep:
    title: str
    done: bool
    url: str
    action: str


@dataclass
class Alert:
    message: str
    url: str = ""
    details: list[str] = field(default_factory=list)


def month_start(now: datetime | None = None) -> datetime:
    now = timezone.localtime(now or timezone.now())
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def audience_figures(now: datetime | None = None) -> AudienceFigures:
    """Contacts, and how many joined or left (unsubscribed, bounced, complained) since the 1st."""
    since = month_start(now)
    left = Q(status_changed_at__gte=since) & ~Q(status=Contact.Status.SUBSCRIBED)
    row = Contact.objects.aggregate(
        total=Count("pk"),
        subscribed=Count("pk", filter=Q(status=Contact.Status.SUBSCRIBED)),
        joined=Count("pk", filter=Q(created_at__gte=since)),
        left=Count("pk", filter=left),
    )
    return AudienceFigures(row["total"], row["subscribed"], row["joined"], row["left"])


def recent_campaigns(limit: int = RECENT_CAMPAIGNS) -> list[CampaignFigures]:
    """The last campaigns that started sending, with sent messages and unique human opens and clicks."""
    campaigns = list(
        Campaign.objects.listed()
        .filter(started_at__isnull=False)
        .annotate(sent=Count("messages", filter=Q(messages__status=Message.Status.SENT)))
        .order_by("-started_at")[:limit]
    )
    engaged = (
        Activity.objects.filter(
            campaign_id__in=[campaign.pk for campaign in campaigns],
            kind__in=[Kind.OPENED, Kind.CLICKED],
            is_machine=False,
        )
        .values("campaign_id", "kind")
        .annotate(contacts=Count("contact_id", distinct=True))
        .order_by()
    )
    counts = {(row["campaign_id"], row["kind"]): row["contacts"] for row in engaged} if campaigns else {}
    return [
        CampaignFigures(
            campaign,
            campaign.sent,
            counts.get((campaign.pk, Kind.OPENED), 0),
            counts.get((campaign.pk, Kind.CLICKED), 0),
        )
        for campaign in campaigns
    ]


def hot_lead_count() -> int:
    return engagement.hot_leads().count()


def deliverability_warnings(now: datetime | None = None) -> list[Alert]:
    """What endangers delivery: bounce and complaint rates of the last 30 days, campaigns the
    error policy paused, and mail that never leaves this machine."""
    since = (now or timezone.now()) - timedelta(days=WINDOW_DAYS)
    counted = [Kind.SENT, Kind.BOUNCED_HARD, Kind.COMPLAINED]
    # kind__in lets the (kind, occurred_at) index serve the scan.
    rates = Activity.objects.filter(kind__in=counted, occurred_at__gte=since, is_machine=False).aggregate(
        sent=Count("pk", filter=Q(kind=Kind.SENT)),
        hard=Count("pk", filter=Q(kind=Kind.BOUNCED_HARD)),
        complaints=Count("pk", filter=Q(kind=Kind.COMPLAINED)),
    )
    warnings = []
    if rates["sent"] and rates["hard"] / rates["sent"] > HARD_BOUNCE_WARNING:
        warnings.append(
            Alert(
                f"{rates['hard'] / rates['sent']:.1%} of last month's messages bounced hard "
                f"(keep it under {HARD_BOUNCE_WARNING:.0%}): clean or re-verify the lists you import."
            )
        )
    if rates["sent"] and rates["complaints"] / rates["sent"] > COMPLAINT_WARNING:
        warnings.append(
            Alert(
                f"{rates['complaints'] / rates['sent']:.2%} of last month's messages were reported as spam "
                f"(keep it under {COMPLAINT_WARNING:.1%}): send only to people who asked, and less often."
            )
        )
    paused = list(
        Campaign.objects.filter(status=Campaign.Status.PAUSED, status_reason__startswith="paused automatically")
        .values_list("pk", "name")
        .order_by("-started_at")
    )
    if paused:
        warnings.append(
            Alert(
                "Paused because too many messages were refused: " + ", ".join(name for _, name in paused) + ".",
                url=reverse("sending:detail", args=[paused[0][0]]),
            )
        )
    if settings.EMAIL_BACKEND.endswith(("console.EmailBackend", "filebased.EmailBackend")):
        warnings.append(Alert("EMAIL_URL sends nothing out: messages are printed or written to files."))
    return warnings


def next_steps() -> list[NextStep]:
    """The way from an empty installation to a first campaign sent; each step done or not."""
    sent = Campaign.objects.listed().filter(status=Campaign.Status.SENT).exists()
    campaign = Campaign.objects.listed().order_by("-created_at").only("pk").first()
    return [
        NextStep(
            "Import your contacts",
            Contact.objects.exists(),
            reverse("wagtailsnippets_contacts_importjob:add"),
            "Import a file",
        ),
        NextStep(
            "Create a mailing list",
            MailingList.objects.exists(),
            reverse("wagtailsnippets_contacts_mailinglist:add"),
            "Add a list",
        ),
        NextStep(
            "Add a verified sender",
            SenderIdentity.objects.filter(verified=True).exists(),
            reverse("senders:add"),
            "Add a sender",
        ),
        NextStep(
            "Compose a campaign",
            campaign is not None,
            reverse("campaigns:add"),
            "New campaign",
        ),
        NextStep(
            "Send it",
            sent,
            reverse("sending:detail", args=[campaign.pk]) if campaign else reverse("campaigns:index"),
            "Schedule or send",
        ),
    ]
