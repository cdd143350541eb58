"""Leave room in MessageSeen's pages on PostgreSQL, so a claim's update stays on its row's page
(a HOT update: no new index entries); nearly every open and click of a campaign updates the row
its send created. Existing pages get the room when rewritten (VACUUM FULL reports_messageseen)."""

from django.db import migrations


def leave_room(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE reports_messageseen SET (fillfactor = 70)")


def fill_pages(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE reports_messageseen RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("reports", "0003_watermark_holes")]

    operations = [migrations.RunPython(leave_room, fill_pages)]
