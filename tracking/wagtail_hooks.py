from wagtail import hooks

from tracking.hot_leads import HotLeadsViewSet
from tracking.returned_mail import ReturnedMailViewSet


@hooks.register("register_admin_viewset")
def register_hot_leads() -> HotLeadsViewSet:
    return HotLeadsViewSet()


@hooks.register("register_admin_viewset")
def register_returned_mail() -> ReturnedMailViewSet:
    return ReturnedMailViewSet()
