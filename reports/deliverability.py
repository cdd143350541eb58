"""Bounce, complaint and deferral rates of recent campaigns, overall and per receiving domain,
against the limits mailbox providers publish (Gmail and Yahoo: complaints under 0.1%, never
0.3%; hard bounces under 2%). Read from the roll-ups of campaigns started in the window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from contacts.models import Activity
from reports.models import CampaignDomainCount

Kind = Activity.Kind
COMPLAINT_WARNING, COMPLAINT_CRITICAL, HARD_BOUNCE_WARNING = 0.001, 0.003, 0.02
# Below this many messages a rate says little (one complaint in 50 is 2%): no alert is raised.
MIN_SENT = 100
WINDOWS = (7, 30)


@dataclass(frozen=True)
class Rates:
    label: str
    sent: int
    hard: int
    soft: int
    complaints: int
    deferred: int

    def rate(self, count: int) -> float | None:
        return count / self.sent if self.sent else None

    @property
    def hard_rate(self) -> float | None:
        return self.rate(self.hard)

    @property
    def soft_rate(self) -> float | None:
        return self.rate(self.soft)

    @property
    def complaint_rate(self) -> float | None:
        return self.rate(self.complaints)

    @property
    def deferral_rate(self) -> float | None:
        return self.rate(self.deferred)

    def level(self) -> str:
        """ "critical", "warning" or "" for these rates against the published limits."""
        if self.sent < MIN_SENT:
            return ""
        if self.complaint_rate >= COMPLAINT_CRITICAL:
            return "critical"
        if self.complaint_rate >= COMPLAINT_WARNING or self.hard_rate >= HARD_BOUNCE_WARNING:
            return "warning"
        return ""


@dataclass(frozen=True)
class Alert:
    message: str
    level: str
    url: str = ""


def _campaign_ids(days: int) -> list[int]:
    since = timezone.now() - timedelta(days=days)
    return list(Campaign.objects.filter(started_at__gte=since).values_list("pk", flat=True))


def per_domain(days: int) -> list[Rates]:
    """Rates per receiving domain for campaigns started in the last ``days`` days, most mail first.
    Deferrals are messages the receiving side deferred at least once (the sender records each)."""
    ids = _campaign_ids(days)
    counts: dict[str, dict[str, int]] = {}
    rows = CampaignDomainCount.objects.filter(campaign_id__in=ids).values("domain", "kind").annotate(n=Sum("first_any"))
    for row in rows:
        counts.setdefault(row["domain"], {})[row["kind"]] = row["n"] or 0
    result = [_rates(domain or "(recipient deleted)", by_kind) for domain, by_kind in counts.items()]
    return sorted(result, key=lambda rates: (-rates.sent, rates.label))


def overall(days: int) -> Rates:
    totals: dict[str, int] = {}
    for rates in per_domain(days):
        for name in ("sent", "hard", "soft", "complaints", "deferred"):
            totals[name] = totals.get(name, 0) + getattr(rates, name)
    return Rates(
        f"Last {days} days", **{name: totals.get(name, 0) for name in Rates.__dataclass_fields__ if name != "label"}
    )


def _rates(label: str, by_kind: dict[str, int]) -> Rates:
    return Rates(
        label,
        sent=by_kind.get(Kind.SENT, 0),
        hard=by_kind.get(Kind.BOUNCED_HARD, 0),
        soft=by_kind.get(Kind.BOUNCED_SOFT, 0),
        complaints=by_kind.get(Kind.COMPLAINED, 0),
        deferred=by_kind.get(Kind.DEFERRED, 0),
    )


def alerts(days: int = 7) -> list[Alert]:
    """Warnings for the dashboard and the sending page: overall, then each domain over a limit."""
    url = reverse("reports:deliverability")
    found = []
    for rates in [overall(days), *per_domain(days)]:
        level = rates.level()
        if not level:
            continue
        where = "all mail" if rates.label.startswith("Last") else rates.label
        found.append(
            Alert(
                f"{level.title()}: {where}, last {days} days: {rates.complaint_rate:.2%} spam complaints "
                f"(limit {COMPLAINT_WARNING:.1%}, never {COMPLAINT_CRITICAL:.1%}), {rates.hard_rate:.1%} hard bounces "
                f"(limit {HARD_BOUNCE_WARNING:.0%}).",
                level,
                url,
            )
        )
    return found
