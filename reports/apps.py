from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Roll-ups written by the tracking drain; campaign, audience and deliverability reports. Reads any app."""

    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"
