from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    """Journeys: triggers, steps, enrolments and the set-based step engine. Sits above sales."""

    name = "automations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from automations.content import refuse_sending
        from campaigns.signals import sending_checks

        sending_checks.connect(refuse_sending, dispatch_uid="automations.journey_content")
