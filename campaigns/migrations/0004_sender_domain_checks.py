from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_sender_name_validation"),
    ]

    operations = [
        migrations.AddField(
            model_name="senderidentity",
            name="checked_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="senderidentity",
            name="dns_checks",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
    ]
