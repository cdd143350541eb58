"""Journeys in the Wagtail admin: list, the block editor (automations/forms.py), the flow
page (diagram with live counts, lint, test run, manual enrolment, go live / pause) and
installing a shipped template."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.generic import TemplateView
from taggit.models import Tag
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton

from automations import content, results, services
from automations import steps as steps_module
from automations.forms import JourneyForm
from automations.journey_templates import TEMPLATES
from automations.lint import lint
from automations.models import Journey
from automations.steps import plan
from automations.trigger_blocks import describe
from campaigns.models import Campaign
from contacts.models import Contact, MailingList, Segment


class EditorDataMixin:
    """What the block editor's inputs offer: the journey's email step keys, the tags in use,
    and where a content campaign opens (automations/_editor_data.html)."""

    def get_context_data(self, **kwargs) -> dict:
        journey = getattr(self, "object", None)
        definition = journey.definition if journey is not None else {}
        return super().get_context_data(
            email_keys=sorted(step["key"] for step in content.email_steps(definition)),
            tags=Tag.objects.filter(contacts_taggedcontact_items__isnull=False)
            .distinct()
            .order_by("name")
            .values_list("name", flat=True)[:500],
            campaign_edit_url=reverse("campaigns:edit", args=[0]),
            campaign_preview_url=reverse("campaigns:preview", args=[0]),
            **kwargs,
        )


class JourneyCreateView(EditorDataMixin, generic.CreateView):
    template_name = "automations/create.html"


class JourneyEditView(EditorDataMixin, generic.EditView):
    template_name = "automations/edit.html"

    def get_header_buttons(self) -> list:
        return [HeaderButton("Flow and counts", url=reverse("journeys:flow", args=[self.object.pk]), icon_name="view")]


class FlowView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    model = Journey
    permission_required = "change"
    template_name = "automations/flow.html"
    header_icon = "resubmit"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.journey = get_object_or_404(Journey.objects.select_related("current_version"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self) -> str:
        return f"Journey flow: {self.journey.name}"

    def get_breadcrumbs_items(self) -> list[dict]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("journeys:index"), "label": "Journeys"},
            {"url": reverse("journeys:edit", args=[self.journey.pk]), "label": self.journey.name},
            {"url": "", "label": f"Flow: {self.journey.name}"},
        ]

    def get_context_data(self, **kwargs) -> dict:
        version = self.journey.current_version
        # A draft shows what going live will publish; a live or paused journey, what runs.
        draft = version is None or self.journey.status == Journey.Status.DRAFT
        definition = self.journey.definition if draft else version.definition
        steps = plan(definition)
        counts = services.step_counts(self.journey)
        email = self.request.GET.get("contact", "").strip()
        contact = Contact.objects.filter(email__iexact=email).first() if email else None
        path = services.test_run(self.journey, contact) if contact else None
        report = services.status(self.journey)
        return super().get_context_data(
            journey=self.journey,
            version=None if draft else version,
            tree=_tree(
                definition.get("steps", []), counts, {step["key"] for step in path or []}, _contents(definition)
            ),
            triggers=[describe(trigger) for trigger in definition.get("triggers", [])],
            problems=lint(steps, definition),
            report=report,
            email_results=results.email_results(report["emails"], self.request.user),
            test_email=email,
            test_path=path,
            test_missing=bool(email) and contact is None,
            segments=Segment.objects.all(),
            definition_json=json.dumps(definition, indent=2),
            json_reference=steps_module.__doc__,
            **kwargs,
        )

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        action = request.POST.get("action")
        if action == "activate":
            services.activate(self.journey)
            messages.success(request, "The journey is live.")
        elif action == "pause":
            services.pause(self.journey)
            messages.success(request, "Paused: contacts wait where they are.")
        elif action == "resume":
            services.resume(self.journey)
            messages.success(request, "Resumed.")
        elif action == "enrol":
            self._enrol(request)
        return redirect("journeys:flow", pk=self.journey.pk)

    def _enrol(self, request: HttpRequest) -> None:
        if self.journey.current_version is None:
            messages.error(request, "Activate the journey first.")
            return
        email = request.POST.get("email", "").strip()
        segment = Segment.objects.filter(pk=request.POST.get("segment") or None).first()
        if segment is not None:
            count = services.enrol_contacts(self.journey, Contact.objects.filter(segment.to_q()))
            messages.success(request, f"{count} contacts of {segment} enrolled.")
            return
        contact = Contact.objects.filter(email__iexact=email).first()
        if contact is None:
            messages.error(request, f"No contact with the address {email}.")
        elif services.enrol_one(self.journey, contact, request.user):
            messages.success(request, f"{contact.email} enrolled.")
        else:
            messages.warning(
                request, f"{contact.email} was not enrolled: inside already, re-entry refused, or not subscribed."
            )


def _contents(definition: dict) -> dict[int, str]:
    """Names of the campaigns the email steps take their content from."""
    ids = [pk for step in content.email_steps(definition) if (pk := content.content_id(step)) is not None]
    return dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name"))


def _tree(
    steps: list[dict], counts: dict[str, dict[str, int]], on_path: set[str], contents: dict[int, str]
) -> list[dict]:
    """The step tree with each step's counts and a short description, for the diagram."""
    empty = {"waiting": 0, "done": 0, "failed": 0, "exited": 0}
    return [
        {
            "key": step["key"],
            "kind": step["type"],
            "summary": _summary(step, contents),
            "counts": counts.get(step["key"], empty),
            "on_path": step["key"] in on_path,
            "yes": _tree(step.get("yes") or [], counts, on_path, contents),
            "no": _tree(step.get("no") or [], counts, on_path, contents),
            "branching": step["type"] in ("condition", "split"),
            "content": content.content_id(step) if step["type"] == "email" else None,
        }
        for step in steps
    ]


WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _summary(step: dict, contents: dict[int, str]) -> str:
    kind = step["type"]
    if kind == "email" and "content" in step:
        return f"“{contents.get(content.content_id(step), 'a campaign no longer there')}” from the campaign builder"
    if kind == "email":
        return f"“{step.get('subject', '')}”"
    if kind == "wait":
        parts = [f"{step[unit]} {unit}" for unit in ("days", "hours", "minutes") if step.get(unit)]
        if "hour" in step:
            day = (
                ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][int(step["weekday"])] if "weekday" in step else "next"
            )
            parts.append(f"until {day} {int(step['hour']):02d}:00 local")
        return ", ".join(parts) or "no wait"
    if kind == "condition":
        for name in ("opened", "clicked"):
            if name in step:
                return f"{name} {step[name]}?"
        return "matches the segment rules?"
    if kind == "split":
        return f"{step.get('percent', 50)}% yes"
    return " ".join(str(step.get(name)) for name in ("tag", "list", "field", "value", "title") if step.get(name))


class InstallForm(forms.Form):
    template = forms.ChoiceField(choices=[(name, name.replace("_", " ")) for name in TEMPLATES])
    mailing_list = forms.ModelChoiceField(
        MailingList.objects.all(), required=False, to_field_name="slug", label="List (the welcome series needs one)"
    )
    activate = forms.BooleanField(required=False, label="Go live at once")


class InstallView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    model = Journey
    permission_required = "add"
    template_name = "automations/install.html"
    page_title = "Install a journey template"
    header_icon = "download"

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(form=kwargs.pop("form", None) or InstallForm(), **kwargs)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        form = InstallForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        chosen = form.cleaned_data["mailing_list"]
        try:
            journey = services.install(
                form.cleaned_data["template"],
                list_slug=chosen.slug if chosen else "",
                activate_now=form.cleaned_data["activate"],
                user=request.user,
            )
        except services.JourneyError as error:
            form.add_error(None, str(error))
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, f"{journey.name} installed.")
        return redirect("journeys:flow", pk=journey.pk)


class JourneyIndexView(generic.IndexView):
    def get_header_buttons(self) -> list:
        return [HeaderButton("Install a template", url=reverse("journeys:install"), icon_name="download")]


class JourneyViewSet(ModelViewSet):
    model = Journey
    icon = "resubmit"
    menu_label = "Journeys"
    menu_order = 250
    add_to_admin_menu = True
    index_view_class = JourneyIndexView
    add_view_class = JourneyCreateView
    edit_view_class = JourneyEditView
    list_display = ["name", "status", "reentry", "current_version", "updated_at"]
    list_filter = ["status"]
    search_fields = ["name"]
    inspect_view_enabled = False
    edit_handler = ObjectList(
        [
            FieldPanel("name"),
            FieldPanel("reentry"),
            FieldPanel("reentry_days"),
            FieldPanel("triggers"),
            FieldPanel("steps"),
            MultiFieldPanel(
                [FieldPanel("edit_as_json"), FieldPanel("definition_json")],
                heading="Advanced: edit as JSON",
                classname="collapsed",
            ),
        ],
        base_form_class=JourneyForm,
    )

    def get_urlpatterns(self) -> list:
        return [
            *super().get_urlpatterns(),
            path("flow/<int:pk>/", FlowView.as_view(), name="flow"),
            path("install/", InstallView.as_view(), name="install"),
        ]


class JourneyContentColumn(Column):
    """The campaign list's "Journey content" column: the journeys whose email steps send the
    campaign as their content (read once per page, on the first cell)."""

    def get_cell_context_data(self, instance, parent_context) -> dict:
        table = parent_context["table"]
        names = getattr(table, "journey_content", None)
        if names is None:
            names = table.journey_content = content.journeys_by_content()
        context = super().get_cell_context_data(instance, parent_context)
        context["value"] = ", ".join(sorted(names.get(instance.pk, {}).values()))
        return context
