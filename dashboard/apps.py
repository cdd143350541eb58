from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The admin shell: the dashboard and which menu entries a marketer sees. It reads every app."""

    name = "dashboard"
    default_auto_field = "django.db.models.BigAutoField"
