"""The dashboard's panels. Each reads its figures from dashboard.services and shows only to
the roles that act on them."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from wagtail.admin.ui.components import Component

from campaigns.models import Campaign
from dashboard import services
from reports import deliverability
from sales import my_day
from sales.models import Task


class Panel(Component):
    permission: str = ""

    def __init__(self, request) -> None:
        self.request = request

    def is_shown(self) -> bool:
        return self.request.user.has_perm(self.permission)


class AudiencePanel(Panel):
    """Contacts, this month's growth and the hot leads waiting for sales."""

    order = 10
    permission = "contacts.view_contact"
    template_name = "dashboard/audience_panel.html"

    def get_context_data(self, parent_context: dict | None = None) -> dict[str, Any]:
        return {
            "audience": services.audience_figures(),
            "hot_leads": services.hot_lead_count(),
            "contacts_url": reverse("wagtailsnippets_contacts_contact:list"),
            "hot_leads_url": reverse("hot_leads:index"),
        }


class NextStepsPanel(Panel):
    """What to do next on an installation that has not sent its first campaign yet."""

    order = 5
    permission = "campaigns.add_campaign"
    template_name = "dashboard/next_steps_panel.html"

    def get_context_data(self, parent_context: dict | None = None) -> dict[str, Any]:
        steps = services.next_steps()
        return {"steps": steps if not all(step.done for step in steps) else []}


class RecentCampaignsPanel(Panel):
    order = 30
    permission = "campaigns.view_campaign"
    template_name = "dashboard/campaigns_panel.html"

    def is_shown(self) -> bool:
        user = self.request.user
        return user.has_perm("campaigns.view_campaign") or user.has_perm("campaigns.change_campaign")

    def get_context_data(self, parent_context: dict | None = None) -> dict[str, Any]:
        # The sending page (progress, figures) takes the permission to send; others get the editor.
        can_send = self.request.user.has_perm("campaigns.send_campaign")
        return {
            "rows": services.recent_campaigns(),
            "campaigns_url": reverse("campaigns:index"),
            "campaign_url_name": "sending:detail" if can_send else "campaigns:edit",
        }


class MyDayPanel(Panel):
    """The signed-in person's tasks: overdue, today and this week, by their own clock."""

    order = 8
    permission = "sales.view_task"
    template_name = "dashboard/my_day_panel.html"

    def get_context_data(self, parent_context: dict | None = None) -> dict[str, Any]:
        user = self.request.user
        tasks = Task.objects.open().filter(owner=user)
        return {"counts": my_day.counts(tasks, my_day.bounds(my_day.owner_zone(user))), "url": reverse("sales_my_day")}


class DeliverabilityPanel(Panel):
    order = 20
    permission = "campaigns.send_campaign"
    template_name = "dashboard/deliverability_panel.html"

    def get_context_data(self, parent_context: dict | None = None) -> dict[str, Any]:
        return {"warnings": [*services.deliverability_warnings(), *deliverability.alerts()]}


class ActiveSendsPanel(Panel):
    """Campaigns scheduled, sending or paused, each linking to its sending page."""

    order = 20
    permission = "campaigns.send_campaign"

    def render_html(self, parent_context: dict | None = None) -> str:
        active = (
            Campaign.objects.listed()
            .filter(status__in=[Campaign.Status.SCHEDULED, Campaign.Status.SENDING, Campaign.Status.PAUSED])
            .only("pk", "name", "status")[:20]
        )
        if not active:
            return ""
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({})</li>',
            ((reverse("sending:detail", args=[c.pk]), c.name, c.status) for c in active),
        )
        return format_html('<section class="panel w-p-4"><h2>Sending</h2><ul>{}</ul></section>', rows)


PANELS = [NextStepsPanel, MyDayPanel, AudiencePanel, ActiveSendsPanel, DeliverabilityPanel, RecentCampaignsPanel]


def panels_for(request) -> list[Panel]:
    return [panel for panel in (cls(request) for cls in PANELS) if panel.is_shown()]
