"""Retention: tracking events older than RETENTION_EVENTS_MONTHS are counted into
contacts.ActivityTally (per contact, kind, campaign and human/machine) and deleted; import
files and their error lists go RETENTION_IMPORT_FILES_DAYS after the import finished;
expired export archives go at once. Run nightly by beat, each step a few set-based statements.

What still reads the purged events keeps working: the engagement score looks back 6 months
and the setting cannot go below 7; last-open and last-click times are stored on the contact;
the contact page's counts and contacts.engagement.campaign_counts add the tallies; the
reports app's roll-ups are tables of their own that no deletion reaches.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contacts.models import Activity, ActivityTally, ImportJob
from privacy.models import DataExport

Kind = Activity.Kind
# Events a campaign leaves in a history; changes of status, consent, notes and the like stay for good.
TRACKED_KINDS = [
    Kind.SENT,
    Kind.DELIVERED,
    Kind.DEFERRED,
    Kind.FAILED,
    Kind.OPENED,
    Kind.CLICKED,
    Kind.BOUNCED_SOFT,
]


def _tally_sql() -> str:
    tally, activity = ActivityTally._meta.db_table, Activity._meta.db_table
    kinds = ", ".join(f"'{kind}'" for kind in TRACKED_KINDS)
    return f"""
        INSERT INTO {tally} (contact_id, kind, campaign_id, is_machine, events, first_at, last_at)
        SELECT contact_id, kind, COALESCE(campaign_id, 0), is_machine, COUNT(*), MIN(occurred_at), MAX(occurred_at)
        FROM {activity}
        WHERE kind IN ({kinds}) AND occurred_at < %s
        GROUP BY contact_id, kind, COALESCE(campaign_id, 0), is_machine
        ON CONFLICT (contact_id, kind, campaign_id, is_machine) DO UPDATE SET
            events = {tally}.events + excluded.events,
            first_at = CASE WHEN excluded.first_at < {tally}.first_at THEN excluded.first_at ELSE {tally}.first_at END,
            last_at = CASE WHEN excluded.last_at > {tally}.last_at THEN excluded.last_at ELSE {tally}.last_at END
    """  # noqa: S608 - table names and kinds are ours, the cutoff is a parameter


def purge_events(now: datetime | None = None) -> int:
    """Tally, then delete, the tracking events older than the retention period; returns how many went."""
    months = settings.RETENTION_EVENTS_MONTHS
    if not months:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=30 * months)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_tally_sql(), [connection.ops.adapt_datetimefield_value(cutoff)])
        deleted, _ = Activity.objects.filter(kind__in=TRACKED_KINDS, occurred_at__lt=cutoff).delete()
    return deleted


def delete_import_files(now: datetime | None = None) -> int:
    """Delete the uploads and error reports (file and list) of imports finished long enough ago."""
    days = settings.RETENTION_IMPORT_FILES_DAYS
    if not days:
        return 0
    jobs = ImportJob.objects.filter(
        status__in=[ImportJob.Status.DONE, ImportJob.Status.FAILED],
        finished_at__lt=(now or timezone.now()) - timedelta(days=days),
    ).exclude(file="")
    done = 0
    for job in jobs.iterator():
        for stored in (job.file, job.error_report):
            if stored:
                stored.storage.delete(stored.name)
        done += ImportJob.objects.filter(pk=job.pk).update(file="", error_report="", errors=[])
    return done


def delete_expired_exports(now: datetime | None = None) -> int:
    expired = DataExport.objects.filter(expires_at__lte=now or timezone.now())
    for stored in expired.iterator():
        stored.file.storage.delete(stored.file.name)
    return expired.delete()[0]


def apply_all(now: datetime | None = None) -> dict[str, int]:
    return {
        "events": purge_events(now),
        "import_files": delete_import_files(now),
        "exports": delete_expired_exports(now),
    }
