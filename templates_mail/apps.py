from pathlib import Path

from django.apps import AppConfig
from django.db.models.signals import post_migrate

LAYOUTS_DIR = Path(__file__).resolve().parent / "layouts"
SHIPPED_LAYOUTS = {"Classic newsletter": "classic.html", "Bold announcement": "announcement.html"}


def install_shipped_layouts(**kwargs) -> None:
    """Seed the two shipped layouts once; a marketer's later edits to them are kept."""
    from templates_mail.models import Layout

    for number, (name, filename) in enumerate(SHIPPED_LAYOUTS.items()):
        Layout.objects.get_or_create(
            name=name,
            defaults={"html": (LAYOUTS_DIR / filename).read_text(encoding="utf-8"), "is_default": number == 0},
        )


class TemplatesMailConfig(AppConfig):
    name = "templates_mail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(install_shipped_layouts, sender=self, dispatch_uid="templates_mail.shipped_layouts")
