"""The "Hot leads" admin listing for sales: contacts who clicked in the last 7 days, by score."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import path
from django_filters import ModelChoiceFilter
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views.generic import IndexView
from wagtail.admin.viewsets.base import ViewSet
from wagtail.permission_policies import ModelPermissionPolicy

from contacts import engagement
from contacts.models import Contact

# The contact's page, which every salesperson may open; the edit form is only for owned contacts.
CONTACT_PAGE_URL = "wagtailsnippets_contacts_contact:inspect"


def person(user) -> str:
    """A colleague as they are known (their name), not by their login."""
    return (user.get_full_name() or user.get_username()) if user else ""


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return person(obj)


class OwnerFilter(ModelChoiceFilter):
    field_class = OwnerChoiceField


class HotLeadsFilterSet(WagtailFilterSet):
    owner = OwnerFilter(
        label="Owner", queryset=get_user_model().objects.filter(owned_contacts__isnull=False).distinct()
    )

    class Meta:
        model = Contact
        fields = ["owner"]


class HotLeadsView(IndexView):
    model = Contact
    page_title = "Hot leads"
    header_icon = "pick"
    permission_policy = ModelPermissionPolicy(Contact)
    any_permission_required = ["view"]
    filterset_class = HotLeadsFilterSet
    index_url_name = "hot_leads:index"
    index_results_url_name = "hot_leads:index_results"
    paginate_by = 50
    columns = [
        TitleColumn("email", label="Contact", url_name=CONTACT_PAGE_URL),
        Column("full_name", label="Name"),
        Column("company"),
        Column("owner", accessor=lambda contact: person(contact.owner)),
        Column("engagement_score", label="Score"),
        Column("standing", accessor="get_standing_display"),
        DateColumn("last_clicked_at", label="Last click"),
    ]

    def get_base_queryset(self) -> QuerySet[Contact]:
        return engagement.hot_leads()


class HotLeadsViewSet(ViewSet):
    name = "hot_leads"
    icon = "pick"
    menu_label = "Hot leads"
    menu_order = 250
    add_to_admin_menu = True

    def get_urlpatterns(self) -> list:
        return [
            path("", HotLeadsView.as_view(), name="index"),
            path("results/", HotLeadsView.as_view(results_only=True), name="index_results"),
        ]
