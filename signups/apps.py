from django.apps import AppConfig


class SignupsConfig(AppConfig):
    """Public signup forms, double opt-in and consent records. Sits above tracking."""

    name = "signups"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from campaigns.signals import demo_seeded
        from signups.demo import create_demo_form

        demo_seeded.connect(create_demo_form, dispatch_uid="signups.demo_form")
