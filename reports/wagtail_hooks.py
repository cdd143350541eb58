"""Reports in the Wagtail admin: the Reports menu entries, the report URLs, and what the
campaign list and editor show through the hooks campaigns offers (campaigns cannot import us)."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets.button import HeaderButton

from reports import columns, deliverability, services, views

urlpatterns = [
    path("campaigns/", views.CampaignListView.as_view(), name="campaigns"),
    path("campaigns/<int:pk>/", views.CampaignReportView.as_view(), name="campaign"),
    path("campaigns/<int:pk>/contacts/", views.ContactsBehindView.as_view(), name="contacts"),
    path("compare/", views.CompareView.as_view(), name="compare"),
    path("audience/", views.AudienceView.as_view(), name="audience"),
    path("deliverability/", views.DeliverabilityView.as_view(), name="deliverability"),
]


@hooks.register("register_admin_urls")
def report_urls() -> list:
    return [path("rapport-reports/", include((urlpatterns, "reports"), namespace="reports"))]


class ReportMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return request.user.has_perm(views.PERMISSION)


@hooks.register("register_reports_menu_item")
def campaign_reports_menu_item() -> MenuItem:
    return ReportMenuItem("Campaign reports", reverse("reports:campaigns"), icon_name="mail", order=10)


@hooks.register("register_reports_menu_item")
def compare_menu_item() -> MenuItem:
    return ReportMenuItem("Compare campaigns", reverse("reports:compare"), icon_name="table", order=11)


@hooks.register("register_reports_menu_item")
def audience_menu_item() -> MenuItem:
    return ReportMenuItem("Audience", reverse("reports:audience"), icon_name="group", order=12)


@hooks.register("register_reports_menu_item")
def deliverability_menu_item() -> MenuItem:
    return ReportMenuItem("Deliverability", reverse("reports:deliverability"), icon_name="warning", order=13)


@hooks.register("rapport_sending_warnings")
def sending_warnings(campaign) -> list:
    """The 7-day deliverability alerts, on the page where a send is started."""
    return deliverability.alerts()


@hooks.register("rapport_campaign_list_columns")
def campaign_list_columns(view) -> list:
    return columns.figure_columns() if view.request.user.has_perm(views.PERMISSION) else []


@hooks.register("rapport_campaign_header_buttons")
def campaign_report_button(campaign, user) -> list:
    if campaign.started_at is None or not user.has_perm(views.PERMISSION):
        return []
    return [HeaderButton("Report", url=reverse("reports:campaign", args=[campaign.pk]), icon_name="table")]


@hooks.register("rapport_campaign_results")
def campaign_results(campaign_ids: list[int], user) -> dict[int, dict]:
    """Sent, human openers and clickers and the report's address of each campaign, for the pages
    of apps below (a journey's flow page) that may not import reports."""
    if not user.has_perm(views.PERMISSION):
        return {}
    figures = services.summaries(campaign_ids)
    return {
        pk: {
            "sent": figures.get(pk, {}).get("sent", 0),
            "opened": figures.get(pk, {}).get("opened", 0),
            "clicked": figures.get(pk, {}).get("clicked", 0),
            "report_url": reverse("reports:campaign", args=[pk]),
        }
        for pk in campaign_ids
    }
