from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ContactsConfig(AppConfig):
    name = "contacts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from contacts.models import Segment
        from contacts.roles import ensure_groups
        from contacts.segments import compile_rules

        Segment.compile_rules = staticmethod(compile_rules)

        post_migrate.connect(ensure_groups, sender=self, dispatch_uid="contacts.ensure_groups")
