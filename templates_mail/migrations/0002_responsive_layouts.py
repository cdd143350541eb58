"""Installs seeded before the layouts became fluid (100% wide up to 600 px, 600 px ghost
tables for Outlook, padded table buttons) get the new HTML, unless a marketer edited them:
only a layout whose HTML is exactly a version we shipped is replaced."""

import hashlib

from django.db import migrations

from templates_mail.apps import LAYOUTS_DIR, SHIPPED_LAYOUTS

# SHA-256 of the HTML of each shipped layout as seeded before this migration.
OLD_SHIPPED_SHA256 = {
    "Classic newsletter": {"ad5a2eea2e7f7d5df41f1adad59a2bab429a351328751bc3d9a55ce5bcca6770"},
    "Bold announcement": {"9cd913d10023083326e9790b7c9c1e456043addb8195bef3d1202b3e4215f8a4"},
}


def update_unedited_layouts(apps, schema_editor) -> None:
    layout_model = apps.get_model("templates_mail", "Layout")
    for name, filename in SHIPPED_LAYOUTS.items():
        layout = layout_model.objects.filter(name=name).first()
        if layout is not None and hashlib.sha256(layout.html.encode()).hexdigest() in OLD_SHIPPED_SHA256[name]:
            layout.html = (LAYOUTS_DIR / filename).read_text(encoding="utf-8")
            layout.save(update_fields=["html"])


class Migration(migrations.Migration):
    dependencies = [("templates_mail", "0001_initial")]

    operations = [migrations.RunPython(update_unedited_layouts, migrations.RunPython.noop)]
