from wagtail import hooks

from automations.viewsets import JourneyViewSet


@hooks.register("register_admin_viewset")
def register_journeys() -> JourneyViewSet:
    return JourneyViewSet("journeys")
