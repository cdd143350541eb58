from django.apps import AppConfig


class TemplatesMailConfig(AppConfig):
    name = "templates_mail"
    default_auto_field = "django.db.models.BigAutoField"
