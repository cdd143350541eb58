from django.apps import AppConfig


class SalesConfig(AppConfig):
    """Sales follow-up: tasks and reminders, deals/orders, lost-customer alerts, grade rules. Sits above signups."""

    name = "sales"
    default_auto_field = "django.db.models.BigAutoField"
