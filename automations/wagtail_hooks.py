from django.db.models import Q
from django.urls import reverse
from wagtail import hooks
from wagtail.admin.widgets.button import HeaderButton

from automations import content
from automations.viewsets import JourneyContentColumn, JourneyViewSet


@hooks.register("register_admin_viewset")
def register_journeys() -> JourneyViewSet:
    return JourneyViewSet("journeys")


@hooks.register("rapport_campaign_list_columns")
def journey_content_column(view) -> list:
    return [JourneyContentColumn("journey_content", label="Journey content")]


@hooks.register("rapport_campaign_header_buttons")
def journey_content_buttons(campaign, user) -> list:
    journeys = content.journeys_by_content().get(campaign.pk, {})
    return [
        HeaderButton(f"Journey: {name}", url=reverse("journeys:flow", args=[pk]), icon_name="resubmit")
        for pk, name in journeys.items()
    ]


@hooks.register("rapport_sending_warnings")
def journey_content_warning(campaign) -> list:
    return [{"message": f"Not sendable: {reason}."} for reason in content.refusals(campaign)]


@hooks.register("rapport_unlisted_campaigns")
def journey_campaigns() -> Q:
    """A journey's step campaigns send on their own; their reports are linked from its flow page."""
    return Q(journey_step__isnull=False)
