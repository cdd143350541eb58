"""The numbers of a campaign report, read from the roll-ups (a few small grouped queries,
whatever the campaign's size)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDay

from campaigns.models import Campaign, CampaignLink
from contacts.models import Activity
from reports.models import (
    CampaignDeviceCount,
    CampaignDomainCount,
    CampaignHour,
    CampaignLinkCount,
    CampaignVariantCount,
)
from reports.rollup import BOUNCED, ENGAGEMENT

Kind = Activity.Kind
HOURLY_FOR = timedelta(hours=72)
DOMAINS_SHOWN = 20


def _by_kind(rows) -> dict[str, dict[str, int]]:
    return {row.pop("kind"): {name: value or 0 for name, value in row.items()} for row in rows}


def _kind_totals(campaign_id: int) -> dict[str, dict[str, int]]:
    rows = (
        CampaignHour.objects.filter(campaign_id=campaign_id)
        .values("kind")
        .annotate(
            events=Sum("total"),
            unique=Sum("first_any"),
            unique_human=Sum("first_human"),
            events_human=Sum("total", filter=Q(is_machine=False)),
        )
    )
    return _by_kind(rows)


def _engagement(kinds: dict[str, dict[str, int]], kind: str) -> dict[str, int]:
    row = kinds.get(kind, {})
    return {
        "unique": row.get("unique", 0),
        "total": row.get("events", 0),
        "unique_human": row.get("unique_human", 0),
        "total_human": row.get("events_human", 0),
    }


def deferred(campaign_id: int) -> int:
    """Messages the receiving side deferred at least once (from the history, so a deleted
    contact's deferral still counts)."""
    return (
        CampaignHour.objects.filter(campaign_id=campaign_id, kind=Kind.DEFERRED).aggregate(n=Sum("first_any"))["n"] or 0
    )


def campaign_report(campaign_id: int) -> dict[str, Any]:
    """The report in the shape of DESIGN.md (``manage.py campaign_report ID --json``)."""
    kinds = _kind_totals(campaign_id)
    first = {kind: row.get("unique", 0) for kind, row in kinds.items()}
    return {
        "sent": first.get(Kind.SENT, 0),
        "delivered": first.get(Kind.SENT, 0) - first.get(BOUNCED, 0),
        "failed": first.get(Kind.FAILED, 0),
        "bounced": {"hard": first.get(Kind.BOUNCED_HARD, 0), "soft": first.get(Kind.BOUNCED_SOFT, 0)},
        "complaints": first.get(Kind.COMPLAINED, 0),
        "unsubscribes": first.get(Kind.UNSUBSCRIBED, 0),
        "opens": _engagement(kinds, Kind.OPENED),
        "clicks": _engagement(kinds, Kind.CLICKED),
        "links": links(campaign_id),
        "domains": domains(campaign_id),
    }


def answers(campaign_id: int) -> list[dict[str, Any]]:
    """Satisfaction answers to the campaign's question, per (scale, score): how many people
    gave each score, and how many of them left a comment. A correction replaces the answer."""
    rows = (
        Activity.objects.filter(campaign_id=campaign_id, kind=Kind.ANSWERED)
        .values(scale=KT("details__scale"), score=KT("details__score"))
        .annotate(people=Count("contact_id", distinct=True), comments=Count("pk", filter=~Q(details__comment="")))
    )
    found = [{**row, "scale": int(row["scale"]), "score": int(row["score"])} for row in rows]
    return sorted(found, key=lambda row: (row["scale"], row["score"]))


def links(campaign_id: int) -> list[dict[str, Any]]:
    """Each clicked link, most human clicks first; the URL as composed (without UTM parameters)."""
    return [link for _, link in indexed_links(campaign_id)]


def indexed_links(campaign_id: int) -> list[tuple[int, dict[str, Any]]]:
    composed = dict(CampaignLink.objects.filter(campaign_id=campaign_id).values_list("index", "url"))
    rows = CampaignLinkCount.objects.filter(campaign_id=campaign_id).order_by("-first_human", "link_index")
    return [
        (
            row.link_index,
            {
                "url": composed.get(row.link_index, row.url),
                "unique": row.first_any,
                "unique_human": row.first_human,
                "total": row.total,
            },
        )
        for row in rows
    ]


def domains(campaign_id: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Per receiving domain, most recipients first."""
    per: dict[str, dict[str, int]] = {}
    for row in CampaignDomainCount.objects.filter(campaign_id=campaign_id).values(
        "domain", "kind", "first_any", "first_human"
    ):
        per.setdefault(row["domain"], {})[row["kind"]] = row
    result = []
    for domain, by_kind in per.items():
        sent = by_kind.get(Kind.SENT, {}).get("first_any", 0)
        bounced = by_kind.get(BOUNCED, {}).get("first_any", 0)
        opened = by_kind.get(Kind.OPENED, {}).get("first_human", 0)
        row = {"domain": domain, "sent": sent, "delivered": sent - bounced, "bounced": bounced}
        result.append({**row, "unique_human_opens": opened})
    result.sort(key=lambda row: (-row["sent"], row["domain"]))
    return result[:limit] if limit else result


def devices(campaign_id: int) -> list[dict[str, Any]]:
    """Human opens and clicks per device/client family, most unique openers first."""
    per: dict[str, dict[str, int]] = {}
    for row in CampaignDeviceCount.objects.filter(campaign_id=campaign_id):
        entry = per.setdefault(row.family, {"family": row.family, "opens": 0, "openers": 0, "clicks": 0})
        if row.kind == Kind.OPENED:
            entry["opens"], entry["openers"] = row.total, row.first_human
        elif row.kind == Kind.CLICKED:
            entry["clicks"] = row.total
    return sorted(per.values(), key=lambda entry: (-entry["openers"], entry["family"]))


def variants(campaign: Campaign) -> list[dict[str, Any]]:
    """A/B arms side by side; empty for a campaign without a test."""
    if not campaign.ab_test_share:
        return []
    per: dict[int, dict[str, int]] = {}
    for row in CampaignVariantCount.objects.filter(campaign_id=campaign.pk):
        per.setdefault(row.variant, {})[row.kind] = row.first_human if row.kind in ENGAGEMENT else row.first_any
    arms = []
    for variant, by_kind in sorted(per.items()):
        sent = by_kind.get(Kind.SENT, 0)
        delivered = sent - by_kind.get(BOUNCED, 0)
        arms.append(
            {
                "variant": variant,
                "label": "ABCD"[variant],
                "sent": sent,
                "delivered": delivered,
                "opened": by_kind.get(Kind.OPENED, 0),
                "clicked": by_kind.get(Kind.CLICKED, 0),
                "open_rate": rate(by_kind.get(Kind.OPENED, 0), delivered),
                "click_rate": rate(by_kind.get(Kind.CLICKED, 0), delivered),
                "winner": campaign.ab_winner == variant,
            }
        )
    return arms


def summaries(campaign_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Sent, delivered, human openers and clickers, and their rates, of many campaigns in one
    grouped query."""
    per: dict[int, dict[str, int]] = {}
    rows = (
        CampaignHour.objects.filter(campaign_id__in=campaign_ids, kind__in=[Kind.SENT, BOUNCED, *ENGAGEMENT])
        .values("campaign_id", "kind")
        .annotate(unique=Sum("first_any"), unique_human=Sum("first_human"))
    )
    for row in rows:
        value = row["unique_human"] if row["kind"] in ENGAGEMENT else row["unique"]
        per.setdefault(row["campaign_id"], {})[row["kind"]] = value or 0
    result = {}
    for campaign_id, kinds in per.items():
        sent = kinds.get(Kind.SENT, 0)
        delivered = sent - kinds.get(BOUNCED, 0)
        result[campaign_id] = {
            "sent": sent,
            "delivered": delivered,
            "opened": kinds.get(Kind.OPENED, 0),
            "clicked": kinds.get(Kind.CLICKED, 0),
            "open_rate": rate(kinds.get(Kind.OPENED, 0), delivered),
            "click_rate": rate(kinds.get(Kind.CLICKED, 0), delivered),
        }
    return result


def comparison(campaign_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Headline figures of many campaigns (summaries plus bounces, complaints, unsubscribes)."""
    result = summaries(campaign_ids)
    kinds = {Kind.BOUNCED_HARD: "hard", Kind.COMPLAINED: "complaints", Kind.UNSUBSCRIBED: "unsubscribes"}
    rows = (
        CampaignHour.objects.filter(campaign_id__in=campaign_ids, kind__in=list(kinds))
        .values("campaign_id", "kind")
        .annotate(unique=Sum("first_any"))
    )
    for row in rows:
        result.setdefault(row["campaign_id"], {})[kinds[row["kind"]]] = row["unique"] or 0
    return result


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


@dataclass(frozen=True)
class Point:
    label: str
    start: datetime
    opens: int
    clicks: int
    opens_machine: int
    clicks_machine: int


def timeline(campaign: Campaign) -> list[Point]:
    """Opens and clicks per hour for the first 72 hours after sending started, then per day."""
    rows = CampaignHour.objects.filter(campaign_id=campaign.pk, kind__in=ENGAGEMENT)
    start = campaign.started_at or rows.order_by("hour").values_list("hour", flat=True).first()
    if start is None:
        return []
    start = start.replace(minute=0, second=0, microsecond=0)
    cut = start + HOURLY_FOR
    buckets: dict[datetime, dict[str, int]] = {}
    hourly = rows.filter(hour__lt=cut).annotate(events=F("total")).values("hour", "kind", "is_machine", "events")
    daily = (
        rows.filter(hour__gte=cut)
        .annotate(day=TruncDay("hour"))
        .values("day", "kind", "is_machine")
        .annotate(events=Sum("total"))
    )
    for row in [*hourly, *({**row, "hour": row["day"]} for row in daily)]:
        key = f"{row['kind']}{'_machine' if row['is_machine'] else ''}"
        bucket = buckets.setdefault(row["hour"], {})
        bucket[key] = bucket.get(key, 0) + row["events"]
    return [
        Point(
            label=f"{moment:%d %b %H:00}" if moment < cut else f"{moment:%d %b}",
            start=moment,
            opens=values.get(Kind.OPENED, 0),
            clicks=values.get(Kind.CLICKED, 0),
            opens_machine=values.get(f"{Kind.OPENED}_machine", 0),
            clicks_machine=values.get(f"{Kind.CLICKED}_machine", 0),
        )
        for moment, values in sorted(buckets.items())
    ]
