"""The campaign editor in the Wagtail admin: compose, lint, preview as a contact, send a test."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, ObjectList
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton

from campaigns import composer, sender_checks
from campaigns.audience import audience_count
from campaigns.lint import lint
from campaigns.models import Campaign, SenderIdentity
from campaigns.sending_views import PERMISSION as SEND_PERMISSION
from campaigns.sending_views import SendTestForm, send_test
from templates_mail.catalogue import merge_fields
from templates_mail.lint import layout_problems
from templates_mail.models import Layout

AUDIENCE_FIELDS = ["include_lists", "include_segments", "exclude_lists", "exclude_segments"]


class CampaignForm(WagtailAdminModelForm):
    """From addresses come only from verified senders; a sent campaign's content is frozen."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "sender" in self.fields:
            self.fields["sender"].queryset = SenderIdentity.objects.filter(verified=True)
            self.fields["sender"].help_text = sender_help()

    def clean(self) -> dict:
        if self.instance.pk and Campaign.objects.get(pk=self.instance.pk).is_frozen:
            raise ValidationError("This campaign has been sent; its content can no longer change. Copy it instead.")
        return super().clean()


def sender_help() -> str:
    """Why a sender someone just added is missing from the list, and where to change that."""
    waiting = [str(sender) for sender in SenderIdentity.objects.filter(verified=False)]
    reason = (
        "Only verified senders are offered: mail from an address whose domain has not authorised "
        "this server (SPF, DKIM) is marked as spam or refused."
    )
    if not waiting:
        return reason
    return format_html(
        '{} Not verified yet: {}. Mark a sender verified under <a href="{}">Senders</a> once its domain is set up.',
        reason,
        ", ".join(waiting),
        reverse("senders:index"),
    )


def _checkboxes(name: str) -> FieldPanel:
    return FieldPanel(name, widget=forms.CheckboxSelectMultiple)


class MergeFieldsMixin:
    """The merge-field picker above the form."""

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(merge_fields=merge_fields(), **kwargs)


class CampaignIndexView(generic.IndexView):
    """Apps above campaigns add columns (reports: sent, delivered, rates) through the
    ``rapport_campaign_list_columns`` hook, since campaigns may not import them."""

    def get_base_queryset(self):
        return super().get_base_queryset().listed()

    @cached_property
    def columns(self) -> list:
        added = [column for hook in hooks.get_hooks("rapport_campaign_list_columns") for column in hook(self)]
        return [*super().columns, *added]


class CampaignCreateView(MergeFieldsMixin, generic.CreateView):
    """A new campaign opens in the editor, where its lint panel and preview are."""

    template_name = "campaigns/editor/create.html"

    def get_success_url(self) -> str:
        return reverse(self.edit_url_name, args=[self.object.pk])

    def save_instance(self) -> Campaign:
        self.form.instance.created_by = self.request.user
        return super().save_instance()


class CampaignCopyView(MergeFieldsMixin, generic.CopyView):
    """The add form filled from a campaign, named so the two are not confused in the list."""

    template_name = "campaigns/editor/create.html"

    def get_initial_form_instance(self) -> Campaign:
        campaign = super().get_initial_form_instance()
        campaign.name = f"Copy of {campaign.name}"[: Campaign._meta.get_field("name").max_length]
        return campaign


class CampaignEditView(MergeFieldsMixin, generic.EditView):
    """Edit form with the lint panel and the live recipient count above it."""

    template_name = "campaigns/editor/edit.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["lint_issues"] = lint(self.object)
        context["recipient_count"] = audience_count(self.object)
        context["count_url"] = reverse("campaigns:recipient_count")
        return context

    @property
    def header_more_buttons(self) -> list:
        buttons = [
            *super().header_more_buttons,
            HeaderButton("Preview and test", url=reverse("campaigns:preview", args=[self.object.pk]), icon_name="view"),
        ]
        if self.request.user.has_perm(SEND_PERMISSION):
            buttons.append(
                HeaderButton("Schedule or send", url=reverse("sending:detail", args=[self.object.pk]), icon_name="mail")
            )
        # Higher apps (reports) add theirs through a hook.
        for hook in hooks.get_hooks("rapport_campaign_header_buttons"):
            buttons.extend(hook(self.object, self.request.user))
        return buttons


class CampaignPreviewView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """The message as one contact gets it, at desktop or mobile width, its text part, and a test send."""

    model = Campaign
    permission_required = "change"
    template_name = "campaigns/editor/preview.html"
    header_icon = "view"
    widths = {"desktop": 680, "mobile": 375}

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.campaign = get_object_or_404(Campaign.objects.select_related("sender", "layout"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self) -> str:
        return f"Preview: {self.campaign}"

    def get_breadcrumbs_items(self) -> list[dict]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("campaigns:index"), "label": "Campaigns"},
            {"url": reverse("campaigns:edit", args=[self.campaign.pk]), "label": self.campaign.name},
            {"url": "", "label": "Preview"},
        ]

    def contact_email(self) -> str:
        """The contact asked for ("" shows every block with empty fields); at first, a sample one."""
        data = self.request.POST or self.request.GET
        if "contact" in data:
            return data["contact"]
        return composer.sample_contact_email(self.campaign)

    def width(self) -> str:
        """The width asked for in the query string ("desktop" unless it names a known one)."""
        width = self.request.GET.get("width", "desktop")
        return width if width in self.widths else "desktop"

    def variant(self) -> int:
        """1 to preview subject B (when the campaign has one), else 0."""
        return 1 if self.request.GET.get("variant") == "1" and self.campaign.subject_b.strip() else 0

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.GET.get("format") != "web":
            return super().get(request, *args, **kwargs)
        preview = composer.preview(self.campaign, composer.find_contact(self.contact_email()))
        response = HttpResponse(preview.message.html if preview.message else "; ".join(preview.problems))
        # The web page as the contact would see it, but never running script in the admin's origin.
        response["Content-Security-Policy"] = "sandbox"
        return response

    def get_context_data(self, **kwargs) -> dict:
        email = self.contact_email()
        contact = composer.find_contact(email)
        width, variant = self.width(), self.variant()
        return super().get_context_data(
            campaign=self.campaign,
            preview=composer.preview(self.campaign, contact, variant=variant),
            variant=variant,
            contact_email=email,
            contact_missing=bool(email) and contact is None,
            width=width,
            frame_width=self.widths[width],
            test_form=kwargs.pop("test_form", None) or SendTestForm(),
            edit_url=reverse("campaigns:edit", args=[self.campaign.pk]),
            can_send=self.request.user.has_perm(SEND_PERMISSION),
            **kwargs,
        )

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        """Send a test through the real sending path, with the previewed contact's merge values.

        Tests leave the building as real mail, so they take the permission to send."""
        if not request.user.has_perm(SEND_PERMISSION):
            raise PermissionDenied
        form = SendTestForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(test_form=form))
        contact = composer.find_contact(self.contact_email())
        # The arm being previewed is the one tested: subject B's preview mails subject B.
        send_test(request, self.campaign, form.cleaned_data["addresses"], contact, self.variant())
        # Back to the preview the person was looking at: same contact, subject and width.
        query = urlencode({"contact": self.contact_email(), "variant": self.variant(), "width": self.width()})
        return redirect(f"{reverse('campaigns:preview', args=[self.campaign.pk])}?{query}")


class RecipientCountView(PermissionCheckedMixin, TemplateView):
    """JSON count for the audience currently ticked in the editor, before saving."""

    model = Campaign
    permission_required = "change"

    def get(self, request: HttpRequest, *args, **kwargs) -> JsonResponse:
        try:
            ids = {name: [int(value) for value in request.GET.getlist(name)] for name in AUDIENCE_FIELDS}
        except ValueError:
            return JsonResponse({"error": "ids must be numbers"}, status=400)
        return JsonResponse({"count": composer.selection_count(**ids)})


class CampaignViewSet(ModelViewSet):
    model = Campaign
    icon = "mail"
    menu_label = "Campaigns"
    menu_order = 200
    add_to_admin_menu = True
    index_view_class = CampaignIndexView
    add_view_class = CampaignCreateView
    copy_view_class = CampaignCopyView
    edit_view_class = CampaignEditView
    list_display = ["name", "subject", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "subject"]
    ordering = ["-created_at"]
    copy_view_enabled = True
    inspect_view_enabled = False
    edit_handler = ObjectList(
        [
            FieldPanel("name"),
            MultiFieldPanel([FieldPanel("subject"), FieldPanel("preheader")], heading="Subject"),
            MultiFieldPanel([FieldPanel("sender"), FieldPanel("reply_to")], heading="From"),
            FieldPanel("layout"),
            FieldPanel("body"),
            FieldPanel("text_body"),
            FieldPanel("utm_enabled"),
            MultiFieldPanel([_checkboxes(name) for name in AUDIENCE_FIELDS], heading="Audience"),
            MultiFieldPanel(
                [FieldPanel("subject_b"), FieldPanel("ab_test_share"), FieldPanel("ab_metric"), FieldPanel("ab_wait")],
                heading="A/B test",
                classname="collapsed",
            ),
        ],
        base_form_class=CampaignForm,
    )

    def get_urlpatterns(self) -> list:
        return [
            *super().get_urlpatterns(),
            path("preview/<int:pk>/", CampaignPreviewView.as_view(), name="preview"),
            path("recipient-count/", RecipientCountView.as_view(), name="recipient_count"),
        ]


class LayoutForm(WagtailAdminModelForm):
    def clean_html(self) -> str:
        html = self.cleaned_data["html"]
        problems = layout_problems(html)
        if problems:
            raise ValidationError(problems)
        return html


class LayoutViewSet(ModelViewSet):
    model = Layout
    icon = "doc-full"
    menu_label = "Layouts"
    menu_order = 210
    add_to_admin_menu = True
    edit_handler = ObjectList(
        [FieldPanel("name"), FieldPanel("html"), FieldPanel("is_default")], base_form_class=LayoutForm
    )
    list_display = ["name", "is_default", "updated_at"]
    search_fields = ["name"]
    inspect_view_enabled = False


class SenderEditView(generic.EditView):
    def save_instance(self) -> SenderIdentity:
        if "email" in self.form.changed_data:
            # The checks passed for the old address's domain, not for this one.
            sender_checks.forget(self.form.instance)
        return super().save_instance()

    @property
    def header_more_buttons(self) -> list:
        url = reverse("senders:checks", args=[self.object.pk])
        return [*super().header_more_buttons, HeaderButton("Domain checks", url=url, icon_name="tick")]


class SenderChecksView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """Each DNS check of the sender's domain with the exact record to publish; POST runs them again."""

    model = SenderIdentity
    permission_required = "change"
    template_name = "campaigns/senders/checks.html"
    header_icon = "tick"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.sender = get_object_or_404(SenderIdentity, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self) -> str:
        return f"Domain checks: {self.sender.email}"

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        checks = sender_checks.check_sender(self.sender)
        failed = [check.label for check in checks if not check.passed]
        if failed:
            messages.warning(request, f"{len(failed)} of {len(checks)} checks failed: the sender is not verified.")
        else:
            messages.success(request, "Every check passed: the sender is verified.")
        return redirect("senders:checks", pk=self.sender.pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(sender=self.sender, checks=self.sender.dns_checks, **kwargs)


class SenderIdentityViewSet(ModelViewSet):
    """From addresses; verified (and so selectable in a campaign) only when the domain checks pass."""

    model = SenderIdentity
    icon = "user"
    menu_label = "Senders"
    menu_order = 220
    add_to_admin_menu = True
    form_fields = ["name", "email", "reply_to", "postal_address"]
    list_display = ["name", "email", "verified", "checked_at"]
    search_fields = ["name", "email"]
    inspect_view_enabled = False
    edit_view_class = SenderEditView

    def get_urlpatterns(self) -> list:
        return [*super().get_urlpatterns(), path("checks/<int:pk>/", SenderChecksView.as_view(), name="checks")]
