"""The orders admin: the order listing and forms, the import page, and the contact page's
Orders section (added through contacts' ``contact_page_sections`` hook)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django import forms
from django.contrib.auth.decorators import permission_required
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from wagtail.admin.panels import FieldPanel
from wagtail.admin.widgets.button import HeaderButton
from wagtail.snippets.views.snippets import CreateView, EditView, IndexView

from contacts.choosers import RoleSnippetViewSet
from contacts.models import Contact
from sales import deals
from sales.models import CustomerHealth, Deal

CONTACT_PAGE_URL = "wagtailsnippets_contacts_contact:inspect"
PANEL_ORDERS = 10


class DealIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("contact")

    @property
    def header_buttons(self) -> list:
        buttons = list(super().header_buttons)
        if self.request.user.has_perm("sales.import_deal"):
            buttons.append(HeaderButton("Import", url=reverse("sales_orders_import"), icon_name="upload"))
        return buttons


class DealCreateView(CreateView):
    def get_initial_form_instance(self) -> Deal:
        # "Add order" on the contact page opens this form with the contact filled in.
        deal = Deal()
        contact_id = self.request.GET.get("contact", "")
        if contact_id.isdigit():
            deal.contact = Contact.objects.filter(pk=int(contact_id)).first()
        return deal

    def save_instance(self) -> Deal:
        return deals.save_deal(self.form.save(commit=False), self.request.user, added=True)


class DealEditView(EditView):
    def save_instance(self) -> Deal:
        return deals.save_deal(self.form.save(commit=False), self.request.user, added=False)


class DealViewSet(RoleSnippetViewSet):
    model = Deal
    icon = "tag"
    menu_label = "Orders"
    url_prefix = "sales/orders"
    index_view_class = DealIndexView
    add_view_class = DealCreateView
    edit_view_class = DealEditView
    list_display = ["__str__", "contact", "date", "amount", "currency", "status"]
    list_filter = ["status", "currency"]
    search_fields = ["reference", "contact__email"]
    search_backend_name = None
    list_per_page = 50
    ordering = ["-date", "-pk"]
    panels = [
        FieldPanel("contact"),
        FieldPanel("date"),
        FieldPanel("amount"),
        FieldPanel("currency"),
        FieldPanel("status"),
        FieldPanel("reference"),
    ]


class DealImportForm(forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file", help_text="Columns: email, date, amount; optional currency, status, reference."
    )


@permission_required("sales.import_deal", raise_exception=True)
def import_orders(request: HttpRequest) -> HttpResponse:
    """Upload an orders file and import it at once (bounded by the contacts import's limits)."""
    form = DealImportForm(request.POST or None, request.FILES or None)
    context = {
        "form": form,
        "page_title": "Import orders",
        "header_title": "Import orders",
        "header_icon": "upload",
        "summary": None,
        "failure": "",
    }
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / ("orders.xlsx" if upload.name.lower().endswith(".xlsx") else "orders.csv")
            with path.open("wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
            try:
                context["summary"] = deals.import_deals(path)
            except deals.ImportFileError as error:
                context["failure"] = str(error)
    return TemplateResponse(request, "sales/import_orders.html", context)


def contact_orders_panel(request: HttpRequest, contact: Contact) -> str:
    """The contact page's Orders section: latest orders, totals, customer state, "Add order"."""
    if not request.user.has_perm("sales.view_deal"):
        return ""
    orders = contact.deals.all()
    totals = orders.aggregate(
        won=Count("pk", filter=Q(status=Deal.Status.WON)), revenue=Sum("amount", filter=Q(status=Deal.Status.WON))
    )
    health = CustomerHealth.objects.filter(contact=contact).first()
    context = {
        "contact": contact,
        "orders": orders[:PANEL_ORDERS],
        "more": max(orders.count() - PANEL_ORDERS, 0),
        "totals": totals,
        "health": health,
        "add_url": reverse(Deal.snippet_viewset.get_url_name("add")) + f"?contact={contact.pk}"
        if request.user.has_perm("sales.add_deal")
        else "",
        "list_url": reverse(Deal.snippet_viewset.get_url_name("list")) + f"?q={contact.email}",
    }
    return render_to_string("sales/contact_orders.html", context, request=request)
