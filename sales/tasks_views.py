"""My day and the one-click task actions (POST with CSRF). Thin: changes go through sales.services.

A manager (``sales.view_team_tasks``: the "Sales managers" group, and superusers) sees the
whole team's tasks with an owner filter and may act on anyone's task; everyone else sees and
acts on their own.
"""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from contacts.models import Contact
from sales import day_rows, my_day, services
from sales.models import Task

VIEW, ADD, CHANGE, TEAM = "sales.view_task", "sales.add_task", "sales.change_task", "sales.view_team_tasks"
SNOOZES = {"day": timedelta(days=1), "week": timedelta(weeks=1)}


def person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "nobody"


def colleagues():
    """Who a task can be handed to: active users who may see tasks."""
    users = get_user_model().objects.filter(is_active=True)
    with_perm = users.filter(
        groups__permissions__codename="view_task", groups__permissions__content_type__app_label="sales"
    )
    return (with_perm | users.filter(is_superuser=True)).distinct().order_by("first_name", "last_name", "username")


class ColleagueField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return person(obj)


class MyDayView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "sales/my_day.html"
    page_title = "My day"
    header_icon = "date"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(VIEW):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list[dict]:
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def _scope(self) -> tuple[object, str]:
        """The owner whose tasks are shown: "" the viewer, "all" the team (managers), or an id."""
        user, wanted = self.request.user, self.request.GET.get("owner", "")
        if not user.has_perm(TEAM) or not wanted:
            return user, ""
        if wanted == "all":
            return None, "all"
        owner = get_user_model().objects.filter(pk=wanted if wanted.isdigit() else 0).first()
        return (owner, wanted) if owner else (user, "")

    def get_context_data(self, **kwargs):
        owner, chosen = self._scope()
        tasks = Task.objects.open() if chosen == "all" else Task.objects.open().filter(owner=owner)
        zone = my_day.owner_zone(owner or self.request.user)
        edges = my_day.bounds(zone)
        counts = my_day.counts(tasks, edges)
        rows = my_day.buckets(tasks, edges, names=my_day.LISTED, with_owner=chosen == "all")
        team = self.request.user.has_perm(TEAM)
        people = list(colleagues()) if team else []
        shared = day_rows.RowContext(
            # Every row's URLs are these prefixes and its ids: reversed once, not once per row.
            task_url=_url_prefix("sales_task_action", "x"),
            contact_url=_url_prefix(Contact.snippet_viewset.get_url_name("inspect")),
            csrf=get_token(self.request),
            next_url=self.request.get_full_path(),
            tomorrow=(timezone.localdate() + timedelta(days=1)).isoformat(),
            with_owner=chosen == "all",
            can_reassign=bool(people),
        )
        later = reverse("sales_tasks:index") + "?open=true" + (f"&owner={owner.pk}" if owner else "")
        return super().get_context_data(
            sections=[
                (name, label, counts[name], rows.get(name), day_rows.rows(rows.get(name) or [], shared))
                for name, label in LABELS
            ],
            zone=zone,
            shown_owner=person(owner) if chosen != "all" else "the whole team",
            chosen=chosen,
            is_manager=team,
            colleagues=people,
            # Every row's "Hand to…" options: in the page once, copied into a row's list when used.
            colleague_options=format_html_join(
                "", '<option value="{}">{}</option>', ((u.pk, person(u)) for u in people)
            ),
            later_url=later,
            **kwargs,
        )


def _url_prefix(name: str, *tail: str) -> str:
    """The URL of ``name`` up to its leading id argument, e.g. "/admin/my-day/tasks/"; a row
    appends "<id>/" (and for a task action "<action>/")."""
    return reverse(name, args=[0, *tail]).removesuffix("/".join(["0", *tail]) + "/")


LABELS = [("overdue", "Overdue"), ("today", "Today"), ("week", "This week"), ("later", "Later")]


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(reverse("sales_my_day"))


def _own_task(request: HttpRequest, pk: int) -> Task:
    if not request.user.has_perm(CHANGE):
        raise PermissionDenied
    task = get_object_or_404(Task.objects.select_related("contact"), pk=pk)
    if task.owner_id != request.user.pk and not request.user.has_perm(TEAM):
        raise PermissionDenied
    return task


class SnoozeDateForm(forms.Form):
    until = forms.DateField()


@require_POST
def task_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    task = _own_task(request, pk)
    if action == "done":
        changed = services.complete(task.pk, request.user, request.POST.get("note", "").strip())
        message = f"Done: {task}."
    elif action in SNOOZES:
        changed = services.snooze(task.pk, timezone.now() + SNOOZES[action])
        message = f"Snoozed: {task}, due again in a {action}."
    elif action == "date":
        form = SnoozeDateForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Pick a date to snooze the task to.")
            return _back(request)
        zone = my_day.owner_zone(request.user)
        due = datetime.combine(form.cleaned_data["until"], time(9, 0), tzinfo=zone)
        changed, message = services.snooze(task.pk, due), f"Snoozed: {task}, due {due:%d %b %Y %H:%M}."
    elif action == "reassign":
        field = ColleagueField(queryset=colleagues())
        try:
            owner = field.clean(request.POST.get("owner"))
        except forms.ValidationError:
            messages.error(request, "Choose a colleague to hand the task to.")
            return _back(request)
        changed, message = services.reassign(task.pk, owner, request.user), f"Handed to {person(owner)}: {task}."
    else:
        raise PermissionDenied
    if changed:
        messages.success(request, message)
    else:
        messages.warning(request, "That task was already done.")
    return _back(request)


def _contact_for_task(request: HttpRequest, pk: int) -> Contact:
    if not (request.user.has_perm(ADD) and request.user.has_perm("contacts.view_contact")):
        raise PermissionDenied
    return get_object_or_404(Contact, pk=pk)


def _contact_page(contact: Contact) -> HttpResponse:
    return redirect(reverse(Contact.snippet_viewset.get_url_name("inspect"), args=[contact.pk]))


@require_POST
def follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_for_task(request, pk)
    task = services.follow_up(contact, request.user)
    messages.success(request, f"Follow-up for {person(task.owner)} on {task.due_at:%d %b}.")
    return _contact_page(contact)


class CallForm(forms.Form):
    note = forms.CharField(max_length=5000, required=False)


@require_POST
def log_call(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_for_task(request, pk)
    form = CallForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The call note is too long.")
        return _contact_page(contact)
    services.log_call(contact, request.user, form.cleaned_data["note"].strip())
    messages.success(request, "Call logged.")
    return _contact_page(contact)
