from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """A person's data: export and erasure across every app, and retention. Reads any app below it."""

    name = "privacy"
    default_auto_field = "django.db.models.BigAutoField"
