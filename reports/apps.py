from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Roll-ups written by the tracking drain; campaign, audience and deliverability reports. Reads any app."""

    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from reports import feeds
        from tracking.signals import events_recorded

        events_recorded.connect(feeds.on_events_recorded, dispatch_uid="reports-rollup")
