"""Registers the deals / lost customers / grades admin (menu group "Customers") and the
contact page's Orders section."""

from django.urls import path
from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSetGroup

from sales.deal_views import DealViewSet, contact_orders_panel, import_orders
from sales.grade_views import GradeRulesViewSet
from sales.lost_views import LostCustomersViewSet


class CustomersGroup(SnippetViewSetGroup):
    menu_label = "Customers"
    menu_icon = "group"
    menu_order = 240
    items = (LostCustomersViewSet, DealViewSet, GradeRulesViewSet)


# A snippet group, so Wagtail knows the orders snippet has a menu entry (no stray "Snippets" menu).
register_snippet(CustomersGroup)
hooks.register("contact_page_panels", contact_orders_panel)


@hooks.register("register_admin_urls")
def register_order_import_url() -> list:
    return [path("sales/orders/import/", import_orders, name="sales_orders_import")]
