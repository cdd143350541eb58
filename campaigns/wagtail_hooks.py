from wagtail import hooks

from campaigns.sending_views import SendingViewSet
from campaigns.viewsets import CampaignViewSet, LayoutViewSet, SenderIdentityViewSet


@hooks.register("register_admin_viewset")
def register_campaign_editor() -> CampaignViewSet:
    return CampaignViewSet("campaigns")


@hooks.register("register_admin_viewset")
def register_sending() -> SendingViewSet:
    return SendingViewSet("sending")


@hooks.register("register_admin_viewset")
def register_layouts() -> LayoutViewSet:
    return LayoutViewSet("layouts")


@hooks.register("register_admin_viewset")
def register_senders() -> SenderIdentityViewSet:
    return SenderIdentityViewSet("senders")
