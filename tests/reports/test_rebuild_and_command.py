"""rebuild_reports recomputes exactly what the feeds rolled up; campaign_report prints DESIGN.md's shape;
upgrading keeps every claim."""

from __future__ import annotations

import importlib
import json
from io import StringIO
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import connection

from reports.feeds import ROLLUPS
from reports.models import FirstSeen, MessageSeen
from tests.factories import CampaignFactory
from tests.reports.conftest import play

pytestmark = pytest.mark.django_db


def _tables() -> dict[str, list[tuple]]:
    def key(model):
        # ``previous`` and ``previous_links`` are the upsert's scratch values (what a row held
        # before the last batch), not figures.
        fields = [f.name for f in model._meta.fields if f.name not in ("id", "previous", "previous_links")]
        return sorted(model.objects.values_list(*fields))

    return {model.__name__: key(model) for model in ROLLUPS}


def test_rebuild_of_one_campaign_equals_the_incremental_rollups(story):
    play(story)
    CampaignFactory()  # another campaign, untouched
    incremental = _tables()
    call_command("rebuild_reports", campaign=story.campaign.pk, stdout=StringIO())
    assert _tables() == incremental


def test_rebuild_of_everything_equals_the_incremental_rollups(story):
    play(story)
    incremental = _tables()
    call_command("rebuild_reports", stdout=StringIO())
    assert _tables() == incremental


def test_campaign_report_of_an_unknown_campaign_fails_with_a_reason():
    with pytest.raises(CommandError, match="no campaign with id 999999"):
        call_command("campaign_report", "999999", "--json")


def test_campaign_report_json_has_the_documented_shape(story):
    play(story)
    out = StringIO()
    call_command("campaign_report", str(story.campaign.pk), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert list(report) == [
        "sent",
        "delivered",
        "failed",
        "bounced",
        "complaints",
        "unsubscribes",
        "opens",
        "clicks",
        "links",
        "domains",
    ]
    assert report["bounced"] == {"hard": 1, "soft": 0}
    assert set(report["clicks"]) == {"unique", "total", "unique_human", "total_human"}
    assert set(report["links"][0]) == {"url", "unique", "unique_human", "total"}
    assert set(report["domains"][0]) == {"domain", "sent", "delivered", "bounced", "unique_human_opens"}


def test_upgrading_folds_link_claims_into_the_claim_rows_bits_and_keeps_the_other_links_rows():
    fold = importlib.import_module("reports.migrations.0006_messageseen_links").fold_first_seen_links
    MessageSeen.objects.create(campaign_id=1, subject=5, flags=2)
    for key in ("l0", "lh0", "l3", "l40", "l-1"):
        FirstSeen.objects.create(campaign_id=1, subject=5, key=key)

    with connection.cursor() as cursor:
        # What the migration uses of its schema editor (SQLite's cannot open inside a test's transaction).
        fold(django_apps, SimpleNamespace(execute=cursor.execute, connection=connection))

    assert MessageSeen.objects.get(subject=5).links == 1 | 1 << 31 | 1 << 3
    assert sorted(FirstSeen.objects.values_list("key", flat=True)) == ["l-1", "l40"]
