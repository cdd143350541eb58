"""Wagtail registration of the sending views (loaded from campaigns/wagtail_hooks.py)."""

from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component

from campaigns import sending_views
from campaigns.models import Campaign


@hooks.register("register_admin_urls")
def sending_urls() -> list:
    return [
        path("sending/", sending_views.SendingIndexView.as_view(), name="campaigns_sending_index"),
        path("campaigns/<int:pk>/sending/", sending_views.SendingView.as_view(), name="campaigns_sending"),
        path("campaigns/<int:pk>/sending/progress/", sending_views.progress_json, name="campaigns_sending_progress"),
        path(
            "campaigns/<int:pk>/sending/confirm/",
            sending_views.ConfirmSendView.as_view(),
            name="campaigns_sending_confirm",
        ),
        path(
            "campaigns/<int:pk>/sending/<slug:action>/",
            sending_views.ActionView.as_view(),
            name="campaigns_sending_action",
        ),
    ]


class ActiveSendsPanel(Component):
    """Campaigns scheduled, sending or paused, each linking to its sending page."""

    order = 20

    def render_html(self, parent_context=None) -> str:
        active = Campaign.objects.filter(
            status__in=[Campaign.Status.SCHEDULED, Campaign.Status.SENDING, Campaign.Status.PAUSED]
        ).only("pk", "name", "status")[:20]
        if not active:
            return ""
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({})</li>',
            ((reverse("campaigns_sending", args=[c.pk]), c.name, c.status) for c in active),
        )
        return format_html('<section class="panel w-p-4"><h2>Sending</h2><ul>{}</ul></section>', rows)


@hooks.register("construct_homepage_panels")
def add_active_sends_panel(request, panels) -> None:
    if request.user.has_perm(sending_views.PERMISSION):
        panels.append(ActiveSendsPanel())


class SendingMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return request.user.has_perm(sending_views.PERMISSION)


@hooks.register("register_admin_menu_item")
def sending_menu_item() -> MenuItem:
    return SendingMenuItem("Sending", reverse("campaigns_sending_index"), icon_name="mail", order=310)
