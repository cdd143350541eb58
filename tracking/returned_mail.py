"""The "Returned mail" admin report: every bounce and complaint that came back, with its
reason, filterable by kind, reason, campaign and whether it was acted on."""

from django.db.models import QuerySet
from django.urls import path
from django_filters import BooleanFilter, ChoiceFilter, NumberFilter
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.generic import IndexView
from wagtail.admin.viewsets.base import ViewSet
from wagtail.permission_policies import ModelPermissionPolicy

from contacts.models import Suppression
from tracking.models import ReturnedMail


class ReturnedMailFilterSet(WagtailFilterSet):
    kind = ChoiceFilter(choices=ReturnedMail.Kind.choices)
    reason = ChoiceFilter(choices=ReturnedMail.Reason.choices)
    campaign_id = NumberFilter(label="Campaign id")
    accepted = BooleanFilter(label="Acted on")

    class Meta:
        model = ReturnedMail
        fields = ["kind", "reason", "campaign_id", "accepted"]


class ReturnedMailView(IndexView):
    model = ReturnedMail
    page_title = "Returned mail"
    header_icon = "warning"
    # Deliverability is the marketers' business: whoever may see the suppression list.
    permission_policy = ModelPermissionPolicy(Suppression)
    any_permission_required = ["view"]
    filterset_class = ReturnedMailFilterSet
    index_url_name = "returned_mail:index"
    index_results_url_name = "returned_mail:index_results"
    paginate_by = 50
    columns = [
        DateColumn("received_at", label="Received"),
        Column("kind", accessor="get_kind_display"),
        Column("reason", accessor="get_reason_display"),
        Column("status"),
        Column("recipients", accessor=lambda row: ", ".join(row.recipients)),
        Column("campaign_id", label="Campaign"),
        Column("accepted", label="Acted on"),
        Column("note"),
    ]

    def get_base_queryset(self) -> QuerySet[ReturnedMail]:
        return ReturnedMail.objects.all()


class ReturnedMailMenuItem(MenuItem):
    """Shown only to those the report opens for: a menu entry that ends in "permission denied" is a dead end."""

    def is_shown(self, request) -> bool:
        return ReturnedMailView.permission_policy.user_has_any_permission(request.user, ["view"])


class ReturnedMailViewSet(ViewSet):
    name = "returned_mail"
    icon = "warning"
    menu_label = "Returned mail"
    menu_order = 260
    add_to_admin_menu = True
    menu_item_class = ReturnedMailMenuItem

    def get_urlpatterns(self) -> list:
        return [
            path("", ReturnedMailView.as_view(), name="index"),
            path("results/", ReturnedMailView.as_view(results_only=True), name="index_results"),
        ]
