from django.utils.safestring import mark_safe
from wagtail import hooks
from wagtail.admin.ui.components import Component

from campaigns.viewsets import CampaignViewSet, LayoutViewSet, SenderIdentityViewSet


class WelcomePanel(Component):
    order = 10

    def render_html(self, parent_context=None) -> str:
        return mark_safe(
            '<section class="panel w-p-4"><h2>Welcome to Rapport</h2>'
            "<p>Nothing here yet. Import contacts, build a list, compose a campaign and send it: "
            "everything recipients do comes back into each contact's history.</p></section>"
        )


@hooks.register("construct_homepage_panels")
def add_welcome_panel(request, panels) -> None:
    panels.append(WelcomePanel())


@hooks.register("construct_main_menu")
def hide_page_explorer(request, menu_items) -> None:
    """Rapport does not publish pages; the explorer would only confuse marketers."""
    menu_items[:] = [item for item in menu_items if item.name != "explorer"]


@hooks.register("construct_homepage_summary_items")
def hide_page_summary(request, summary_items) -> None:
    summary_items.clear()


from campaigns import sending_hooks  # noqa: F401,E402


@hooks.register("register_admin_viewset")
def register_campaign_editor() -> CampaignViewSet:
    return CampaignViewSet("campaigns")


@hooks.register("register_admin_viewset")
def register_layouts() -> LayoutViewSet:
    return LayoutViewSet("layouts")


@hooks.register("register_admin_viewset")
def register_senders() -> SenderIdentityViewSet:
    return SenderIdentityViewSet("senders")
