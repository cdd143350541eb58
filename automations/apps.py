from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    """Journeys: triggers, steps, enrolments and the set-based step engine. Sits above sales."""

    name = "automations"
    default_auto_field = "django.db.models.BigAutoField"
