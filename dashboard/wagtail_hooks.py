"""Rapport's admin shell: its dashboard panels, and no CMS entries a marketer never uses
(Rapport publishes no pages, so the page explorer, page reports, workflows, documents and
Wagtail's help links only confuse)."""

from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from wagtail import hooks
from wagtail.admin.search import SearchArea

from dashboard.panels import panels_for

HIDDEN_MAIN_MENU = {"explorer", "documents", "help"}
HIDDEN_SETTINGS = {"workflows", "workflow-tasks", "sites"}
# Wagtail's page reports; the site history (who changed what) stays.
HIDDEN_REPORTS = {"locked-pages", "workflows", "workflow-tasks", "aging-pages", "page-types-usage"}


@hooks.register("construct_homepage_panels")
def rapport_panels(request, panels) -> None:
    """Wagtail's own panels are about pages; other apps' panels stay."""
    panels[:] = [panel for panel in panels if not type(panel).__module__.startswith("wagtail.")]
    panels.extend(panels_for(request))


@hooks.register("construct_homepage_summary_items")
def hide_page_summary(request, summary_items) -> None:
    summary_items.clear()


@hooks.register("construct_main_menu")
def hide_cms_menu_items(request, menu_items) -> None:
    menu_items[:] = [item for item in menu_items if item.name not in HIDDEN_MAIN_MENU]


@hooks.register("construct_settings_menu")
def hide_cms_settings(request, menu_items) -> None:
    menu_items[:] = [item for item in menu_items if item.name not in HIDDEN_SETTINGS]


@hooks.register("construct_reports_menu")
def hide_page_reports(request, menu_items) -> None:
    menu_items[:] = [item for item in menu_items if item.name not in HIDDEN_REPORTS]


class ContactSearchArea(SearchArea):
    def is_shown(self, request: HttpRequest) -> bool:
        return request.user.has_perm("contacts.view_contact")


@hooks.register("register_admin_search_area")
def search_contacts() -> SearchArea:
    """The sidebar's search box searches the first area shown: contacts, not Wagtail's pages."""
    return ContactSearchArea(
        "Contacts", reverse("wagtailsnippets_contacts_contact:list"), name="contacts", icon_name="user", order=10
    )


@hooks.register("construct_search")
def hide_page_search(request, search_areas) -> None:
    search_areas[:] = [area for area in search_areas if area.name != "pages"]


@hooks.register("insert_global_admin_js")
def name_unlabelled_widgets() -> str:
    """Every admin page: tag and rich-text inputs get their field's label (axe-checked in tests/e2e)."""
    return format_html('<script src="{}" defer></script>', static("dashboard/js/field-names.js"))
