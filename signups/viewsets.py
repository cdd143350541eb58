"""Signup forms and welcome emails in the admin, with each form's embeddable snippet."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import path, reverse
from django.views.generic import TemplateView
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton

from signups import abuse, services
from signups.forms import SignupFormAdminForm, VisitorForm
from signups.models import SignupForm, WelcomeEmail


def embed_snippet(form: SignupForm) -> str:
    """The HTML a marketer pastes into another site: a plain form posting to /f/<slug>/,
    our widget script, and a small script that fetches the signed fill-time stamp."""
    context = {
        "signup_form": form,
        "form": VisitorForm(form),
        "action": settings.SITE_URL + reverse("signups_form", args=[form.slug]),
        "challenge_url": settings.SITE_URL + reverse("signups_challenge", args=[form.slug]),
        "altcha_js": settings.SITE_URL + static("signups/altcha-3.2.2.umd.min.js"),
        "embed_js": settings.SITE_URL + static("signups/embed.js"),
        "challenge": settings.SIGNUP_CHALLENGE,
        "honeypot": abuse.HONEYPOT_FIELD,
        "lists": services.offered_lists(form) if form.visitor_chooses_lists else [],
    }
    return render_to_string("signups/embed_snippet.html", context).strip()


class SignupFormEditView(generic.EditView):
    @property
    def header_more_buttons(self) -> list:
        buttons = [
            HeaderButton("Embed code", url=reverse("signup_forms:embed", args=[self.object.pk]), icon_name="code"),
            HeaderButton(
                "Open the form", url=reverse("signups_form", args=[self.object.slug]), icon_name="link-external"
            ),
        ]
        return [*super().header_more_buttons, *buttons]


class EmbedView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """The form's embeddable HTML, with a copy button."""

    model = SignupForm
    permission_required = "change"
    template_name = "signups/admin/embed.html"
    header_icon = "code"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.form = get_object_or_404(SignupForm, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self) -> str:
        return f"Embed code: {self.form.name}"

    def get_breadcrumbs_items(self) -> list[dict]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("signup_forms:index"), "label": "Signup forms"},
            {"url": reverse("signup_forms:edit", args=[self.form.pk]), "label": self.form.name},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            signup_form=self.form,
            snippet=embed_snippet(self.form),
            page_url=settings.SITE_URL + reverse("signups_form", args=[self.form.slug]),
            **kwargs,
        )


class SignupFormViewSet(ModelViewSet):
    model = SignupForm
    icon = "form"
    menu_label = "Signup forms"
    edit_view_class = SignupFormEditView
    list_display = ["name", "slug", Column("consent_version", label="Consent version"), "created_at"]
    search_fields = ["name", "slug"]
    inspect_view_enabled = False
    edit_handler = ObjectList(
        [
            FieldPanel("name"),
            FieldPanel("slug"),
            FieldPanel("introduction"),
            InlinePanel("form_lists", label="Lists", min_num=1, heading="Lists"),
            FieldPanel("visitor_chooses_lists"),
            MultiFieldPanel([FieldPanel("profile_fields"), FieldPanel("required_fields")], heading="Profile fields"),
            FieldPanel("consent_text"),
            MultiFieldPanel([FieldPanel("thank_you_text"), FieldPanel("redirect_url")], heading="After signing up"),
        ],
        base_form_class=SignupFormAdminForm,
    )

    def get_urlpatterns(self) -> list:
        return [*super().get_urlpatterns(), path("embed/<int:pk>/", EmbedView.as_view(), name="embed")]


class WelcomeEmailViewSet(ModelViewSet):
    model = WelcomeEmail
    icon = "mail"
    menu_label = "Welcome emails"
    form_fields = ["mailing_list", "subject", "body"]
    list_display = ["mailing_list", "subject"]
    search_fields = ["subject"]
    inspect_view_enabled = False


class SignupsGroup(ViewSetGroup):
    menu_label = "Signups"
    menu_icon = "form"
    menu_order = 160
    items = (SignupFormViewSet("signup_forms"), WelcomeEmailViewSet("welcome_emails"))
