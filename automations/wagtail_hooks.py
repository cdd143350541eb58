from wagtail import hooks

from automations.viewsets import JourneyContentColumn, JourneyViewSet


@hooks.register("register_admin_viewset")
def register_journeys() -> JourneyViewSet:
    return JourneyViewSet("journeys")


@hooks.register("rapport_campaign_list_columns")
def journey_content_column(view) -> list:
    return [JourneyContentColumn("journey_content", label="Journey content")]
