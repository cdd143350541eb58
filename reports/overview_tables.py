"""Tables of the reports that span campaigns: compare, audience, deliverability."""

from __future__ import annotations

from django.urls import reverse

from campaigns.models import Campaign
from reports import audience, deliverability, services
from reports.tables import Cell, Table


def _pct(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}%"


def compare(n: int) -> list[Table]:
    """The last ``n`` campaigns that started sending, oldest first, side by side."""
    campaigns = list(Campaign.objects.filter(started_at__isnull=False).order_by("-started_at", "-pk")[:n])[::-1]
    figures = services.comparison([campaign.pk for campaign in campaigns])
    headers = ["Campaign", "Open rate", "Click rate", "Sent", "Delivered", "Hard bounces", "Complaints", "Unsubscribes"]
    table = Table("compare", f"The last {n} campaigns", headers, chart="line", series=(1, 2))
    for campaign in campaigns:
        row = figures.get(campaign.pk, {})
        name = Cell(campaign.name, reverse("reports:campaign", args=[campaign.pk]))
        table.add(
            name,
            _pct(row.get("open_rate")),
            _pct(row.get("click_rate")),
            row.get("sent", 0),
            row.get("delivered", 0),
            row.get("hard", 0),
            row.get("complaints", 0),
            row.get("unsubscribes", 0),
        )
    return [table]


def audience_tables(period: str, rows: str, columns: str) -> list[Table]:
    headers = ["Period", "New", "Confirmed", "Unsubscribed", "Bounced", "Complained", "Net"]
    growth = Table("growth", f"List growth per {period}", headers, chart="bar", series=(1, 3, 6))
    label = {"day": "%Y-%m-%d", "week": "week of %Y-%m-%d", "month": "%Y-%m"}[period]
    for row in audience.growth(period):
        growth.add(
            row["period"].strftime(label),
            row["new"],
            row["confirmed"],
            row["unsubscribed"],
            row["bounced"],
            row["complained"],
            row["net"],
        )
    names = audience.DIMENSIONS
    column_labels, body = audience.classification(rows, columns)
    caption = f"Contacts by {names[rows].lower()} and {names[columns].lower()}"
    classes = Table("classification", caption, [names[rows], *column_labels, "All"])
    for row_label, counts, total in body:
        classes.add(row_label, *counts, total)
    return [growth, classes]


def deliverability_tables() -> list[Table]:
    headers = ["Window", "Sent", "Hard bounces", "Soft bounces", "Complaints", "Deferred"]
    overall = Table("overall", "Bounce, complaint and deferral rates", headers)
    for days in deliverability.WINDOWS:
        overall.add(*_rate_cells(deliverability.overall(days)))
    domains = Table(
        "domains",
        "Per receiving domain, last 30 days",
        ["Domain", *headers[1:]],
        chart="bar",
        series=(2, 4),
    )
    for rates in deliverability.per_domain(30)[: services.DOMAINS_SHOWN]:
        domains.add(*_rate_cells(rates))
    return [overall, domains]


def _rate_cells(rates: deliverability.Rates) -> list:
    def share(value: float | None, digits: int) -> str:
        return "" if value is None else f"{100 * value:.{digits}f}%"

    return [
        rates.label,
        rates.sent,
        share(rates.hard_rate, 2),
        share(rates.soft_rate, 2),
        share(rates.complaint_rate, 3),
        share(rates.deferral_rate, 2),
    ]
