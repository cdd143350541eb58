"""Admin views for sending a campaign: schedule, send now (after a confirmation), pause, resume,
cancel, send a test, and the live progress of a send. Only the actions legal in the campaign's
current state are offered. Thin: every change goes through campaigns.services.

:class:`SendingViewSet` declares them under each campaign's URL (``/admin/campaigns/<id>/sending/``)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.views import View
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet

from campaigns import delivery, progress, services
from campaigns.audience import audience
from campaigns.models import Campaign
from contacts.models import Contact

PERMISSION = "campaigns.send_campaign"


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    return get_object_or_404(Campaign.objects.select_related("sender"), pk=pk)


class ScheduleForm(forms.Form):
    when = forms.DateTimeField(
        label="Send at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="In your time zone."
    )
    local_time = forms.TimeField(
        label="Deliver at local time",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="Optional: each contact receives it at this hour of their own day, within 24 hours.",
    )

    def clean_when(self):
        when = self.cleaned_data["when"]
        if when < timezone.now():
            raise forms.ValidationError("choose a time in the future, or use Send now")
        return when


class SendTestForm(forms.Form):
    addresses = forms.CharField(label="Send a test to", help_text="Comma-separated addresses.")

    def clean_addresses(self) -> list[str]:
        addresses = [address.strip() for address in self.cleaned_data["addresses"].split(",") if address.strip()]
        field = forms.EmailField()
        for address in addresses:
            field.clean(address)
        if not addresses or len(addresses) > 10:
            raise forms.ValidationError("give between 1 and 10 addresses")
        return addresses


def send_test(
    request: HttpRequest, campaign: Campaign, addresses: list[str], contact: Contact | None = None, variant: int = 0
) -> None:
    """The one test send of the preview and sending pages: the real sending path, then one admin
    message per address saying what its server answered."""
    try:
        results = delivery.send_test(campaign, addresses, contact, variant=variant)
    except ValueError as error:
        messages.error(request, f"Test not sent: {error}")
        return
    for address, result in results.items():
        level = messages.success if result.outcome is delivery.Outcome.SENT else messages.error
        level(request, f"Test to {address}: {result.outcome} {result.detail}".strip())


class SendingIndexView(WagtailAdminTemplateMixin, TemplateView):
    """Campaigns by send status, each linking to its sending page."""

    template_name = "campaigns/sending/index.html"
    page_title = "Sending"
    header_icon = "mail"

    def get_breadcrumbs_items(self) -> list[dict]:
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        listed = Campaign.objects.listed()
        campaigns = listed.only("pk", "name", "status", "scheduled_at", "started_at", "finished_at")
        return super().get_context_data(
            campaigns=campaigns.order_by("-created_at")[:100],
            # "No campaigns yet" alone would be wrong while journeys send their own emails.
            others_send=not listed.exists() and Campaign.objects.exists(),
            **kwargs,
        )


class SendingView(WagtailAdminTemplateMixin, TemplateView):
    """The campaign's sending page: actions and a progress bar that polls :func:`progress_json`."""

    template_name = "campaigns/sending/detail.html"
    header_icon = "mail"

    def dispatch(self, request, *args, **kwargs):
        self.campaign = _campaign(request, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self) -> str:
        return f"Sending: {self.campaign}"

    def get_breadcrumbs_items(self) -> list[dict]:
        return _breadcrumbs(self.breadcrumbs_items, self.campaign, "")

    def warnings(self) -> list:
        """Apps above campaigns (reports: deliverability alerts) add theirs through this hook."""
        return [warning for hook in hooks.get_hooks("rapport_sending_warnings") for warning in hook(self.campaign)]

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            campaign=self.campaign,
            progress=_progress(self.campaign),
            actions=ACTIONS,
            schedule_form=ScheduleForm(),
            test_form=SendTestForm(),
            progress_url=reverse("sending:progress", args=[self.campaign.pk]),
            warnings=self.warnings(),
            **kwargs,
        )


class ConfirmSendView(WagtailAdminTemplateMixin, TemplateView):
    """ "Send now" asks first: who it goes to, from whom, with which subject."""

    template_name = "campaigns/sending/confirm.html"
    header_icon = "mail"

    def dispatch(self, request, *args, **kwargs):
        self.campaign = _campaign(request, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self) -> str:
        return f"Send now: {self.campaign}"

    def get_breadcrumbs_items(self) -> list[dict]:
        return _breadcrumbs(self.breadcrumbs_items, self.campaign, "Send now")

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            campaign=self.campaign,
            recipients=audience(self.campaign).count(),
            problems=services.blocking_problems(self.campaign),
            allowed="send_now" in services.available_actions(self.campaign),
            **kwargs,
        )


class ActionView(View):
    """POST-only lifecycle actions; the outcome is shown as an admin message."""

    http_method_names = ["post"]
    actions = {
        "send_now": services.send_now,
        "pause": services.pause,
        "resume": services.resume,
        "cancel": services.cancel,
        "unschedule": services.unschedule,
    }
    done = {
        "send_now": "“{campaign}” is queued: it goes out at the configured rate, follow it below until it is sent.",
        "pause": "“{campaign}” is pausing: messages already handed to a worker may still go out.",
        "resume": "“{campaign}” resumes sending.",
        "cancel": "“{campaign}” is cancelled: messages not sent yet will not be sent.",
        "unschedule": "“{campaign}” is no longer scheduled; it is a draft again.",
    }

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        campaign = _campaign(request, pk)
        if action not in {*self.actions, "schedule", "send_test"}:
            raise PermissionDenied
        if action == "send_now" and request.POST.get("confirmed") != "yes":
            return redirect("sending:confirm", pk=campaign.pk)
        if action in services.ACTION_SOURCES and action not in services.available_actions(campaign):
            # A page left open while the campaign moved on (another admin, a worker, the clock).
            messages.warning(
                request, f"Nothing done: “{campaign}” is {_state(campaign)} now. The actions below are those possible."
            )
            return redirect("sending:detail", pk=campaign.pk)
        try:
            if action == "schedule":
                self._schedule(request, campaign)
            elif action == "send_test":
                self._send_test(request, campaign)
            else:
                self.actions[action](campaign)
                messages.success(request, self.done[action].format(campaign=campaign))
        except services.TransitionError as error:
            messages.error(request, str(error))
        return redirect("sending:detail", pk=campaign.pk)

    def _schedule(self, request: HttpRequest, campaign: Campaign) -> None:
        form = ScheduleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "; ".join(error for errors in form.errors.values() for error in errors))
            return
        services.schedule(campaign, form.cleaned_data["when"], local_time=form.cleaned_data["local_time"])
        messages.success(request, f"{campaign}: scheduled for {form.cleaned_data['when']:%Y-%m-%d %H:%M %Z}.")

    def _send_test(self, request: HttpRequest, campaign: Campaign) -> None:
        form = SendTestForm(request.POST)
        if not form.is_valid():
            messages.error(request, "; ".join(error for errors in form.errors.values() for error in errors))
            return
        send_test(request, campaign, form.cleaned_data["addresses"])


@require_GET
def progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(_progress(_campaign(request, pk)))


# Lifecycle actions in the order the page shows them, with their button label and style.
ACTIONS = [
    ("pause", "Pause", "button-secondary"),
    ("resume", "Resume", ""),
    ("unschedule", "Unschedule", "button-secondary"),
    ("cancel", "Cancel sending", "no"),
]
FINAL = [Campaign.Status.SENT, Campaign.Status.CANCELLED, Campaign.Status.FAILED]


def _state(campaign: Campaign) -> str:
    if campaign.status == Campaign.Status.SCHEDULED and "send_now" not in services.available_actions(campaign):
        return "starting"
    return campaign.status


def _progress(campaign: Campaign) -> dict:
    """progress.progress plus what the page needs to follow a send started anywhere."""
    return {
        **progress.progress(campaign),
        "state": _state(campaign),
        "final": campaign.status in FINAL,
        "actions": services.available_actions(campaign),
        "scheduled_at": campaign.scheduled_at.isoformat() if campaign.scheduled_at else None,
    }


def _breadcrumbs(base: list[dict], campaign: Campaign, last: str) -> list[dict]:
    items = [
        *base,
        {"url": reverse("sending:index"), "label": "Sending"},
        {"url": reverse("sending:detail", args=[campaign.pk]) if last else "", "label": campaign.name},
    ]
    return [*items, {"url": "", "label": last}] if last else items


class SendingMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return request.user.has_perm(PERMISSION)


class SendingViewSet(ViewSet):
    """The sending pages, under the campaigns' URL prefix; only those who may send see the menu entry."""

    icon = "mail"
    url_prefix = "campaigns"
    menu_label = "Sending"
    menu_order = 310
    add_to_admin_menu = True
    menu_item_class = SendingMenuItem

    def get_urlpatterns(self) -> list:
        return [
            path("sending/", SendingIndexView.as_view(), name="index"),
            path("<int:pk>/sending/", SendingView.as_view(), name="detail"),
            path("<int:pk>/sending/progress/", progress_json, name="progress"),
            path("<int:pk>/sending/confirm/", ConfirmSendView.as_view(), name="confirm"),
            path("<int:pk>/sending/<slug:action>/", ActionView.as_view(), name="action"),
        ]
