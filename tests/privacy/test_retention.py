"""Retention: old tracking events become tallies, counts stay; old import files go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts import engagement, import_states
from contacts.models import Activity, ActivityTally, ImportJob
from privacy import retention
from tests.factories import ActivityFactory, CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(settings):
    settings.RETENTION_EVENTS_MONTHS = 7
    contact, campaign = ContactFactory(), CampaignFactory()
    old, recent = timezone.now() - timedelta(days=400), timezone.now() - timedelta(days=2)
    for moment, machine in [(old, False), (old, False), (old, True), (recent, False)]:
        ActivityFactory(contact=contact, kind="opened", campaign_id=campaign.pk, occurred_at=moment, is_machine=machine)
    ActivityFactory(contact=contact, kind="clicked", campaign_id=campaign.pk, occurred_at=old)
    ActivityFactory(contact=contact, kind="note", occurred_at=old, details={"text": "kept"})
    return contact, campaign


def test_zero_months_keeps_every_event(history, settings):
    settings.RETENTION_EVENTS_MONTHS = 0

    assert retention.purge_events() == 0
    assert Activity.objects.count() == 6


def test_old_events_are_purged_and_only_tracked_kinds(history):
    assert retention.purge_events() == 4

    assert sorted(Activity.objects.values_list("kind", flat=True)) == ["note", "opened"]


def test_counts_on_the_contact_page_and_campaign_totals_survive_the_purge(history):
    contact, campaign = history
    page, totals = engagement.summary(contact), engagement.campaign_counts(campaign.pk)

    retention.purge_events()
    retention.purge_events()

    assert engagement.summary(contact) == page
    assert engagement.campaign_counts(campaign.pk) == totals
    assert ActivityTally.objects.get(contact=contact, kind="opened", is_machine=False).events == 2


def test_a_later_purge_adds_to_the_tally(history):
    contact, campaign = history
    retention.purge_events()
    ActivityFactory(
        contact=contact, kind="opened", campaign_id=campaign.pk, occurred_at=timezone.now() - timedelta(days=500)
    )

    retention.purge_events()

    tally = ActivityTally.objects.get(contact=contact, kind="opened", is_machine=False)
    assert tally.events == 3 and tally.first_at < timezone.now() - timedelta(days=499)


def test_import_files_go_some_days_after_the_import_finished(settings, tmp_path):
    settings.IMPORT_UPLOAD_ROOT, settings.RETENTION_IMPORT_FILES_DAYS = tmp_path, 30
    (tmp_path / "old.csv").write_text("email\nann@example.com\n")
    (tmp_path / "new.csv").write_text("email\nbob@example.com\n")
    finished = timezone.now() - timedelta(days=31)
    old = ImportJob.objects.create(file="old.csv", status="done", finished_at=finished, errors=[{"row": 2}])
    new = ImportJob.objects.create(file="new.csv", status="done", finished_at=timezone.now() - timedelta(days=29))

    assert retention.delete_import_files() == 1

    old.refresh_from_db()
    assert (old.file.name, old.errors) == ("", [])
    assert not (tmp_path / "old.csv").exists() and (tmp_path / "new.csv").exists()
    new.refresh_from_db()
    assert new.file.name == "new.csv"


def test_an_import_whose_file_was_deleted_cannot_be_run_again(settings, tmp_path):
    settings.IMPORT_UPLOAD_ROOT, settings.RETENTION_IMPORT_FILES_DAYS = tmp_path, 30
    (tmp_path / "failed.csv").write_text("email\n")
    job = ImportJob.objects.create(file="failed.csv", status="failed", finished_at=timezone.now() - timedelta(days=31))
    retention.delete_import_files()

    assert import_states.queue_import(job, {"email": "email"}) is False
