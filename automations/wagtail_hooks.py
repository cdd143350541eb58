from django.db.models import Q
from wagtail import hooks

from automations.viewsets import JourneyViewSet


@hooks.register("register_admin_viewset")
def register_journeys() -> JourneyViewSet:
    return JourneyViewSet("journeys")


@hooks.register("rapport_unlisted_campaigns")
def journey_campaigns() -> Q:
    """A journey's step campaigns send on their own; their reports are linked from its flow page."""
    return Q(journey_step__isnull=False)
