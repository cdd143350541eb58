"""rebuild_reports recomputes exactly what the feeds rolled up; campaign_report prints DESIGN.md's shape."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from reports.feeds import ROLLUPS
from tests.factories import CampaignFactory
from tests.reports.conftest import play

pytestmark = pytest.mark.django_db


def _tables() -> dict[str, list[tuple]]:
    def key(model):
        # ``previous`` is the upsert's scratch value (what a row held before the last batch), not a figure.
        fields = [f.name for f in model._meta.fields if f.name not in ("id", "previous")]
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
