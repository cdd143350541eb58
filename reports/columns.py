"""Sent, delivered and rate columns for the campaign list, filled for a whole page at once."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from wagtail.admin.ui.tables import Column

from reports import services


class FigureColumn(Column):
    """One figure of services.summaries; the page's figures are read in one query, on the first cell."""

    def __init__(self, name: str, label: str, key: str, percent: bool = False) -> None:
        super().__init__(name, label=label)
        self.key, self.percent = key, percent

    def get_cell_context_data(self, instance, parent_context) -> dict:
        table = parent_context["table"]
        figures = getattr(table, "report_figures", None)
        if figures is None:
            figures = table.report_figures = services.summaries([row.pk for row in table.data])
        context = super().get_cell_context_data(instance, parent_context)
        value = figures.get(instance.pk, {}).get(self.key)
        if value is None:
            context["value"] = ""
        elif self.percent:
            url = reverse("reports:campaign", args=[instance.pk])
            context["value"] = format_html('<a href="{}">{}%</a>', url, f"{value:.1f}")
        else:
            context["value"] = value
        return context


def figure_columns() -> list[Column]:
    return [
        FigureColumn("report_sent", "Sent", "sent"),
        FigureColumn("report_delivered", "Delivered", "delivered"),
        FigureColumn("report_open_rate", "Open rate", "open_rate", percent=True),
        FigureColumn("report_click_rate", "Click rate", "click_rate", percent=True),
    ]
