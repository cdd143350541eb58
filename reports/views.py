"""Report pages in the Wagtail admin. Thin: numbers come from reports.services and reports.tables."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.text import slugify
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from campaigns.models import Campaign
from contacts.exporter import csv_chunks
from contacts.models import Contact, Segment
from contacts.segments import compile_rules
from reports import (
    audience,
    campaign_sections,
    click_map,
    deliverability,
    exports,
    feeds,
    overview_tables,
    services,
    tables,
)
from reports.models import CampaignLinkCount

PERMISSION = "reports.view_reports"
BEHIND_EVENTS = {
    "sent": "were sent",
    "opened": "opened (people, not machines)",
    "clicked": "clicked (people, not scanners)",
    "bounced": "hard-bounced",
    "complained": "complained",
    "unsubscribed": "unsubscribed",
}
EXPORT_FIELDS = ["email", "first_name", "last_name", "company", "status"]


class ReportView(WagtailAdminTemplateMixin, TemplateView):
    """Only for those who may read reports (Marketers and Sales)."""

    header_icon = "table"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list[dict]:
        # The slim header shows the last crumb: it names the page.
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]


class TablesView(ReportView):
    """A page of report tables; ``?export=csv|xlsx&table=KEY`` downloads one of them."""

    template_name = "reports/tables_page.html"
    export_stem = "report"

    def get_tables(self) -> list[tables.Table]:
        raise NotImplementedError

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        fmt = request.GET.get("export")
        if fmt is None:
            return super().get(request, *args, **kwargs)
        if fmt not in exports.FORMATS:
            raise Http404("unknown export format")
        wanted = request.GET.get("table")
        table = next((t for t in self.get_tables() if t.key == wanted), None)
        if table is None:
            raise Http404("unknown table")
        return exports.download(table, fmt, self.export_stem)

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(tables=self.get_tables(), **kwargs)


def _choice(request: HttpRequest, name: str, allowed, default):
    value = request.GET.get(name, default)
    return value if value in allowed else default


class CompareView(TablesView):
    template_name = "reports/compare.html"
    page_title = "Compare campaigns"
    export_stem = "compare-campaigns"
    choices = (5, 10, 20, 50)

    def number(self) -> int:
        value = self.request.GET.get("n", "10")
        return int(value) if value.isdigit() and int(value) in self.choices else 10

    def get_tables(self) -> list[tables.Table]:
        return overview_tables.compare(self.number())

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(n=self.number(), choices=self.choices, **kwargs)


class AudienceView(TablesView):
    template_name = "reports/audience.html"
    page_title = "Audience"
    export_stem = "audience"

    def choices(self) -> tuple[str, str, str]:
        period = _choice(self.request, "period", audience.PERIODS, "week")
        rows = _choice(self.request, "rows", audience.DIMENSIONS, "grade")
        columns = _choice(self.request, "columns", audience.DIMENSIONS, "region")
        return period, rows, columns if columns != rows else next(d for d in audience.DIMENSIONS if d != rows)

    def get_tables(self) -> list[tables.Table]:
        return overview_tables.audience_tables(*self.choices())

    def get_context_data(self, **kwargs) -> dict:
        period, rows, columns = self.choices()
        return super().get_context_data(
            period=period,
            rows=rows,
            columns=columns,
            periods=list(audience.PERIODS),
            dimensions=list(audience.DIMENSIONS.items()),
            **kwargs,
        )


class DeliverabilityView(TablesView):
    template_name = "reports/deliverability.html"
    page_title = "Deliverability"
    export_stem = "deliverability"

    def get_tables(self) -> list[tables.Table]:
        return overview_tables.deliverability_tables()

    def get_context_data(self, **kwargs) -> dict:
        feeds.catch_up(max_steps=1)
        return super().get_context_data(alerts=deliverability.alerts(), min_sent=deliverability.MIN_SENT, **kwargs)


class CampaignListView(ReportView):
    """Every campaign that started sending, newest first, with its headline figures."""

    template_name = "reports/campaign_list.html"
    page_title = "Campaign reports"

    def get_context_data(self, **kwargs) -> dict:
        started = Campaign.objects.listed().filter(started_at__isnull=False).order_by("-started_at", "-pk")
        page = Paginator(started.only("pk", "name", "status", "started_at"), 50).get_page(self.request.GET.get("p"))
        figures = services.summaries([campaign.pk for campaign in page])
        rows = [(campaign, figures.get(campaign.pk, {})) for campaign in page]
        return super().get_context_data(page=page, rows=rows, **kwargs)


class CampaignReportView(TablesView):
    """Everything a campaign did; ``?export=csv|xlsx&table=KEY`` downloads one table."""

    template_name = "reports/campaign.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.campaign = get_object_or_404(Campaign, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self) -> str:
        return f"Campaign report: {self.campaign.name}"

    def get_header_title(self) -> str:
        return self.get_page_title()

    def get_breadcrumbs_items(self) -> list[dict]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("reports:campaigns"), "label": "Campaign reports"},
            {"url": "", "label": self.get_page_title()},
        ]

    @property
    def export_stem(self) -> str:
        return f"campaign-{self.campaign.pk}-{slugify(self.campaign.name)}"

    def get_tables(self) -> list[tables.Table]:
        return campaign_sections.campaign_tables(self.campaign)

    def get_context_data(self, **kwargs) -> dict:
        feeds.catch_up(max_steps=1)
        return super().get_context_data(
            campaign=self.campaign,
            click_map=click_map.overlay(self.campaign),
            edit_url=reverse("campaigns:edit", args=[self.campaign.pk])
            if self.request.user.has_perm("campaigns.change_campaign")
            else "",
            **kwargs,
        )


class ContactsBehindView(ReportView):
    """The contacts behind one number of a campaign report: a list to open, export or keep as a segment."""

    template_name = "reports/contacts.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.campaign = get_object_or_404(Campaign, pk=kwargs["pk"])
        self.event = request.GET.get("event", "")
        if self.event not in BEHIND_EVENTS:
            raise Http404("unknown event")
        self.rules: dict = {"event": self.event, "campaign": self.campaign.pk}
        link = request.GET.get("link")
        if link is not None and self.event == "clicked":
            link_row = CampaignLinkCount.objects.filter(campaign_id=self.campaign.pk, link_index=link).first()
            if link_row is None or not str(link).lstrip("-").isdigit():
                raise Http404("unknown link")
            self.rules["link"] = link_row.url
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self) -> str:
        return f"Contacts who {BEHIND_EVENTS[self.event]}: {self.campaign.name}"

    def get_header_title(self) -> str:
        return self.get_page_title()

    def contacts(self):
        return Contact.objects.filter(compile_rules(self.rules)).order_by("email")

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.GET.get("export") == "csv":
            if not request.user.has_perm("contacts.export_contact"):
                raise PermissionDenied
            response = StreamingHttpResponse(
                csv_chunks(self.contacts(), EXPORT_FIELDS), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="campaign-{self.campaign.pk}-{self.event}.csv"'
            return response
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        """Keep this list as a segment (its rules, so it stays live)."""
        if not request.user.has_perm("contacts.add_segment"):
            raise PermissionDenied
        name = f"{self.campaign.name}: {self.event}"[: Segment._meta.get_field("name").max_length]
        segment = Segment.objects.create(name=name, rules=self.rules)
        messages.success(request, f"Saved as the segment “{segment.name}”.")
        return redirect("wagtailsnippets_contacts_segment:edit", segment.pk)

    def get_context_data(self, **kwargs) -> dict:
        page = Paginator(self.contacts(), 50).get_page(self.request.GET.get("p"))
        user = self.request.user
        return super().get_context_data(
            campaign=self.campaign,
            page=page,
            event=self.event,
            can_export=user.has_perm("contacts.export_contact"),
            can_save=user.has_perm("contacts.add_segment"),
            report_url=reverse("reports:campaign", args=[self.campaign.pk]),
            **kwargs,
        )
