"""Rapport's admin shell: its dashboard panels, and no CMS entries a marketer never uses
(Rapport publishes no pages, so the page explorer, page reports, workflows, documents and
Wagtail's help links only confuse)."""

from wagtail import hooks

from dashboard.panels import panels_for

HIDDEN_MAIN_MENU = {"explorer", "documents", "help"}
HIDDEN_SETTINGS = {"workflows", "workflow-tasks", "sites"}
# Wagtail's page reports; the site history (who changed what) stays.
HIDDEN_REPORTS = {"locked-pages", "workflows", "workflow-tasks", "aging-pages", "page-types-usage"}


@hooks.register("construct_homepage_panels")
def rapport_panels(request, panels) -> None:
    """Wagtail's own panels are about pages; other apps' panels (e.g. active sends) stay."""
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
