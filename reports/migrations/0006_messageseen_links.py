# ruff: noqa: S608 - SQL built from this module's constants only
"""Links 0-30 are claimed in MessageSeen.links instead of a FirstSeen row each: the claims a
click needs are then one row's update, the one its first open already made. Existing FirstSeen
rows of those links are folded into the bits."""

from django.db import migrations, models

LINK_BITS = 31
# The link index in a FirstSeen key: "l3" (a click) or "lh3" (a person's click).
HUMAN = "substr(f.key, 1, 2) = 'lh'"
INDEX = f"CAST(substr(f.key, CASE WHEN {HUMAN} THEN 3 ELSE 2 END) AS integer)"
IN_BITS = f"substr(f.key, 1, 1) = 'l' AND {INDEX} BETWEEN 0 AND {LINK_BITS - 1}"
BIT = f"CAST(1 AS bigint) << (CASE WHEN {HUMAN} THEN {LINK_BITS} ELSE 0 END + {INDEX})"


def fold_first_seen_links(apps, schema_editor) -> None:
    schema_editor.execute(
        "UPDATE reports_messageseen SET links = links | CAST(("
        f"SELECT COALESCE(SUM(DISTINCT {BIT}), 0) FROM reports_firstseen f"
        " WHERE f.campaign_id = reports_messageseen.campaign_id AND f.subject = reports_messageseen.subject"
        f" AND {IN_BITS}) AS bigint)"
        f" WHERE EXISTS (SELECT 1 FROM reports_firstseen f WHERE f.campaign_id = reports_messageseen.campaign_id"
        f" AND f.subject = reports_messageseen.subject AND {IN_BITS})"
    )
    schema_editor.execute(
        f"DELETE FROM reports_firstseen WHERE id IN (SELECT f.id FROM reports_firstseen f WHERE {IN_BITS})"
    )


def unfold_links(apps, schema_editor) -> None:
    """Back to a FirstSeen row per link clicked."""
    MessageSeen = apps.get_model("reports", "MessageSeen")
    FirstSeen = apps.get_model("reports", "FirstSeen")
    rows = []
    for campaign_id, subject, links in (
        MessageSeen.objects.exclude(links=0).values_list("campaign_id", "subject", "links").iterator(chunk_size=5000)
    ):
        for index in range(LINK_BITS):
            if links >> index & 1:
                rows.append(FirstSeen(campaign_id=campaign_id, subject=subject, key=f"l{index}"))
            if links >> (LINK_BITS + index) & 1:
                rows.append(FirstSeen(campaign_id=campaign_id, subject=subject, key=f"lh{index}"))
    FirstSeen.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_messageseen_domain_variant")]

    operations = [
        migrations.AddField(model_name="messageseen", name="links", field=models.BigIntegerField(default=0)),
        migrations.AddField(model_name="messageseen", name="previous_links", field=models.BigIntegerField(default=0)),
        migrations.RunPython(fold_first_seen_links, unfold_links),
    ]
