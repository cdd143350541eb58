"""The Lost customers page: flagged customers with their last order, gap, trend and owner,
filterable, exportable, and addable to a list for a win-back campaign."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django_filters import CharFilter, ChoiceFilter, ModelChoiceFilter
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views.generic import IndexView
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permission_policies import ModelPermissionPolicy

from contacts import services
from contacts.forms import AddToListForm
from contacts.models import Contact
from sales.models import CustomerHealth, Deal

CONTACT_PAGE_URL = "wagtailsnippets_contacts_contact:inspect"
WON = Q(contact__deals__status=Deal.Status.WON)


def person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


class OwnerField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return person(obj)


class LostCustomersFilterSet(WagtailFilterSet):
    state = ChoiceFilter(choices=[c for c in CustomerHealth.State.choices if c[0] != CustomerHealth.State.OK])
    owner = ModelChoiceFilter(
        label="Owner",
        field_name="contact__owner",
        queryset=get_user_model().objects.filter(owned_contacts__isnull=False).distinct(),
    )
    owner.field_class = OwnerField
    grade = ChoiceFilter(label="Grade", field_name="contact__grade", choices=Contact.Grade.choices)
    region = CharFilter(label="Region", field_name="contact__region", lookup_expr="iexact")
    industry = CharFilter(label="Industry", field_name="contact__industry", lookup_expr="iexact")

    class Meta:
        model = CustomerHealth
        fields = ["state"]


def flagged() -> QuerySet[CustomerHealth]:
    """Flagged customers with their order figures, most recently flagged first."""
    return (
        CustomerHealth.objects.exclude(state=CustomerHealth.State.OK)
        .select_related("contact", "contact__owner")
        .annotate(
            last_order=Max("contact__deals__date", filter=WON),
            orders=Count("contact__deals", filter=WON),
            trend=F("contact__engagement_score") - F("baseline_score"),
        )
        .order_by("-flagged_at", "contact__email")
    )


def gap_days(health: CustomerHealth) -> int | str:
    return (timezone.localdate() - health.last_order).days if health.last_order else ""


class LostCustomersView(IndexView):
    model = CustomerHealth
    page_title = "Lost customers"
    header_icon = "warning"
    permission_policy = ModelPermissionPolicy(CustomerHealth)
    any_permission_required = ["view"]
    filterset_class = LostCustomersFilterSet
    index_url_name = "lost_customers:index"
    index_results_url_name = "lost_customers:index_results"
    paginate_by = 50
    columns = [
        TitleColumn("contact", label="Customer", url_name=CONTACT_PAGE_URL, id_accessor="contact_id"),
        Column("state", accessor="get_state_display"),
        Column("reason", label="Why"),
        DateColumn("last_order", label="Last order"),
        Column("gap", label="Days since", accessor=gap_days),
        Column("orders"),
        Column("trend", label="Score trend", accessor=lambda h: f"{h.trend:+.1f}"),
        Column("owner", accessor=lambda h: person(h.contact.owner)),
        Column("grade", accessor=lambda h: h.contact.grade),
        DateColumn("flagged_at", label="Flagged"),
    ]
    list_export = ["contact.email", "contact.full_name", "state", "reason", "last_order", "orders", "trend"]
    list_export += ["contact.owner", "contact.grade", "contact.region", "contact.industry", "flagged_at"]
    export_headings = {name: name.removeprefix("contact.").replace("_", " ") for name in list_export}
    export_filename = "lost-customers"

    def to_row_dict(self, item: CustomerHealth) -> dict:
        row = super().to_row_dict(item)
        row["contact.owner"] = person(item.contact.owner)
        return row

    def get_base_queryset(self) -> QuerySet[CustomerHealth]:
        return flagged()

    @property
    def header_buttons(self) -> list:
        buttons = list(super().header_buttons)
        if can_add_to_list(self.request.user):
            url = reverse("lost_customers:add_to_list") + "?" + self.request.GET.urlencode()
            buttons.append(HeaderButton("Add to list", url=url, icon_name="list-ul"))
        return buttons


def can_add_to_list(user) -> bool:
    # Lists are the marketers' (a win-back campaign goes to a list), as the contacts' bulk actions.
    return user.has_perm("contacts.change_any_contact") and user.has_perm("sales.view_customerhealth")


def add_to_list(request: HttpRequest) -> HttpResponse:
    """Add every customer the page's filters show to a list, for a win-back campaign."""
    if not can_add_to_list(request.user):
        raise PermissionDenied
    customers = LostCustomersFilterSet(request.GET, queryset=flagged()).qs
    form = AddToListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        mailing_list = form.cleaned_data["mailing_list"]
        added = services.add_to_list(customers.values_list("contact_id", flat=True), mailing_list, source="win-back")
        messages.success(
            request, f"{added} customers added to {mailing_list}; unsubscribed and existing members left out."
        )
        return redirect(reverse("lost_customers:index") + "?" + request.GET.urlencode())
    title = "Add lost customers to a list"
    context = {"form": form, "count": customers.count(), "page_title": title, "header_title": title}
    return TemplateResponse(request, "sales/lost_add_to_list.html", context | {"header_icon": "list-ul"})


class LostCustomersMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return LostCustomersView.permission_policy.user_has_any_permission(request.user, ["view"])


class LostCustomersViewSet(ViewSet):
    name = "lost_customers"
    icon = "warning"
    menu_label = "Lost customers"
    menu_item_class = LostCustomersMenuItem

    def get_urlpatterns(self) -> list:
        return [
            path("", LostCustomersView.as_view(), name="index"),
            path("results/", LostCustomersView.as_view(results_only=True), name="index_results"),
            path("add-to-list/", add_to_list, name="add_to_list"),
        ]
