from wagtail import hooks

from tracking.hot_leads import HotLeadsViewSet


@hooks.register("register_admin_viewset")
def register_hot_leads() -> HotLeadsViewSet:
    return HotLeadsViewSet()
