"""The campaign report as named tables: the page renders them (each chart is drawn from its
table's cells, so the two never disagree) and the exports write them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from campaigns.models import Campaign
from reports import services


@dataclass(frozen=True)
class Cell:
    value: Any
    url: str = ""


@dataclass
class Table:
    key: str
    caption: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    # How the page draws it: "line" or "bar" over the columns in ``series`` (indexes), or no chart.
    chart: str = ""
    series: tuple[int, ...] = ()
    # A sentence the page prints under the caption (what the figures mean, or what they decide).
    note: str = ""

    def add(self, *cells: Any) -> None:
        self.rows.append([cell if isinstance(cell, Cell) else Cell(cell) for cell in cells])

    def plain(self) -> list[list[Any]]:
        """Header and values, for the exports."""
        return [self.headers, *([cell.value for cell in row] for row in self.rows)]


def _who(campaign: Campaign, event: str, link: int | None = None) -> str:
    query = {"event": event, **({"link": link} if link is not None else {})}
    return f"{reverse('reports:contacts', args=[campaign.pk])}?{urlencode(query)}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"


def delivery(campaign: Campaign, report: dict[str, Any], deferred: int) -> Table:
    table = Table("delivery", "Delivery", ["Outcome", "Messages", "Share of sent"])
    sent = report["sent"]
    rows = [
        ("Sent", sent, "sent"),
        ("Delivered", report["delivered"], ""),
        ("Deferred, retried later", deferred, ""),
        ("Failed", report["failed"], ""),
        ("Hard bounces", report["bounced"]["hard"], "bounced"),
        ("Soft bounces", report["bounced"]["soft"], ""),
        ("Spam complaints", report["complaints"], "complained"),
        ("Unsubscribes", report["unsubscribes"], "unsubscribed"),
    ]
    for label, value, event in rows:
        table.add(
            label, Cell(value, _who(campaign, event) if event and value else ""), _pct(services.rate(value, sent))
        )
    return table


def engagement(campaign: Campaign, report: dict[str, Any]) -> Table:
    headers = ["", "People", "Rate (of delivered)", "With machines", "Human events", "All events"]
    table = Table("engagement", "Opens and clicks (people, machines apart)", headers)
    for label, key, event in (("Opens", "opens", "opened"), ("Clicks", "clicks", "clicked")):
        figures = report[key]
        people = Cell(figures["unique_human"], _who(campaign, event) if figures["unique_human"] else "")
        rate = _pct(services.rate(figures["unique_human"], report["delivered"]))
        table.add(label, people, rate, figures["unique"], figures["total_human"], figures["total"])
    return table


def over_time(campaign: Campaign) -> Table:
    headers = ["Period", "Human opens", "Human clicks", "Machine opens", "Machine clicks"]
    table = Table("over_time", "Opens and clicks over time (hourly for 72 hours, then daily; UTC)", headers)
    table.chart, table.series = "line", (1, 2, 3, 4)
    for point in services.timeline(campaign):
        table.add(point.label, point.opens, point.clicks, point.opens_machine, point.clicks_machine)
    return table


def links(campaign: Campaign, report: dict[str, Any]) -> Table:
    headers = ["Link", "People who clicked", "With machines", "All clicks"]
    table = Table("links", "Click map: each link and the people who clicked it", headers)
    table.chart, table.series = "bar", (1,)
    for index, link in services.indexed_links(campaign.pk):
        people = Cell(link["unique_human"], _who(campaign, "clicked", index) if link["unique_human"] else "")
        table.add(link["url"], people, link["unique"], link["total"])
    return table


def domains(report: dict[str, Any]) -> Table:
    headers = ["Receiving domain", "Sent", "Delivered", "Bounced", "People who opened", "Open rate"]
    table = Table("domains", "Receiving domains", headers)
    table.chart, table.series = "bar", (2, 4)
    for row in report["domains"][: services.DOMAINS_SHOWN]:
        rate = _pct(services.rate(row["unique_human_opens"], row["delivered"]))
        table.add(
            row["domain"] or "(recipient deleted)",
            row["sent"],
            row["delivered"],
            row["bounced"],
            row["unique_human_opens"],
            rate,
        )
    return table


def devices(campaign: Campaign) -> Table:
    table = Table("devices", "Devices and mail clients (people)", ["Device", "People who opened", "Opens", "Clicks"])
    table.chart, table.series = "bar", (1,)
    for row in services.devices(campaign.pk):
        table.add(row["family"], row["openers"], row["opens"], row["clicks"])
    return table


def answers(rows: list[dict[str, Any]]) -> Table:
    table = Table("answers", "Satisfaction answers (people)", ["Score", "People", "With a comment"])
    table.chart, table.series = "bar", (1,)
    for row in rows:
        table.add(f"{row['score']} of {row['scale']}", row["people"], row["comments"])
    return table
