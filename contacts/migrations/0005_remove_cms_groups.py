"""Wagtail's Moderators and Editors groups belong to page publishing, which Rapport does not do;
Rapport's roles are Marketers and Sales (contacts/roles.py). Also the contact's frequency
choices get the labels the preference centre and the admin now share."""

from django.db import migrations, models

CMS_GROUPS = ["Moderators", "Editors"]


def remove_cms_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    # Only while nobody is in them: a group someone was put in is theirs now.
    Group.objects.using(schema_editor.connection.alias).filter(name__in=CMS_GROUPS, user__isnull=True).delete()


class Migration(migrations.Migration):
    # After every Wagtail migration that creates these groups or gives them permissions.
    dependencies = [
        ("contacts", "0002_import_uploads"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailadmin", "0006_formstate"),
        ("wagtaildocs", "0014_alter_document_file_size"),
        ("wagtailimages", "0027_image_description"),
    ]

    operations = [
        migrations.RunPython(remove_cms_groups, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="contact",
            name="frequency",
            field=models.CharField(
                choices=[
                    ("every", "Every campaign"),
                    ("weekly", "At most one email a week"),
                    ("monthly", "At most one email a month"),
                ],
                default="every",
                max_length=8,
            ),
        ),
    ]
