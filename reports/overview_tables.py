"""Tables of the reports that span campaigns: compare, audience, deliverability."""

from __future__ import annotations

from django.urls import reverse

from campaigns.models import Campaign
from contacts.models import Activity
from reports import audience, audience_history, deliverability, services
from reports.tables import Cell, Table


def _pct(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}%"


def compare(n: int) -> list[Table]:
    """The last ``n`` campaigns that started sending, oldest first, side by side."""
    started = Campaign.objects.listed().filter(started_at__isnull=False).order_by("-started_at", "-pk")
    campaigns = list(started[:n])[::-1]
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
    return [
        growth,
        standing_table(),
        *(movement_table(kind) for kind in (Activity.Kind.GRADE, Activity.Kind.STANDING)),
        classes,
    ]


def _words(value: str) -> str:
    return value.replace("_", " ") if value else "(none)"


def standing_table() -> Table:
    from_history, months = audience_history.standing_by_month()
    if from_history:
        caption = "Contacts by standing at the end of each month"
        note = "From the contacts' standing history: today's standings with every later change undone."
    else:
        caption = "Contacts by standing, by month created"
        note = "No standing history is recorded yet: this is today's standing of the contacts created each month."
    standings = audience_history.STANDINGS
    table = Table(
        "standing",
        caption,
        ["Month", *map(_words, standings)],
        chart="line",
        series=tuple(range(1, len(standings) + 1)),
    )
    table.note = note
    for start, counts in months:
        table.add(start.strftime("%Y-%m"), *(counts.get(standing, 0) for standing in standings))
    return table


def movement_table(kind: str) -> Table:
    name = "grade" if kind == Activity.Kind.GRADE else "standing"
    table = Table(f"{name}_moves", f"Moves between {name}s, month on month", ["Month", "From", "To", "Contacts"])
    for row in audience_history.movement(kind):
        table.add(row["month"].strftime("%Y-%m"), _words(row["from"]), _words(row["to"]), row["contacts"])
    return table


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
