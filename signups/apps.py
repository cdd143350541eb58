from django.apps import AppConfig


class SignupsConfig(AppConfig):
    """Public signup forms, double opt-in and consent records. Sits above tracking."""

    name = "signups"
    default_auto_field = "django.db.models.BigAutoField"
