"""install_journey, journey_status --json and enrol, as DESIGN.md gives them."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from automations.models import Journey
from tests.automations.conftest import run
from tests.factories import ContactFactory, MailingListFactory

pytestmark = pytest.mark.django_db


def test_welcome_without_a_list_is_refused_with_the_reason():
    with pytest.raises(CommandError, match="--list"):
        call_command("install_journey", "welcome")


def test_enrolling_an_unknown_address_is_refused():
    with pytest.raises(CommandError, match="no contact"):
        call_command("enrol", "nobody@example.com", "1")


def test_install_enrol_and_status_report_the_welcome_series(capsys):
    MailingListFactory(slug="news")
    ContactFactory(email="ada@example.com")
    call_command("install_journey", "welcome", "--list", "news", "--activate")
    journey_id = int(capsys.readouterr().out.strip())
    call_command("enrol", "ada@example.com", str(journey_id))
    run()
    capsys.readouterr()

    call_command("journey_status", str(journey_id), "--json")

    report = json.loads(capsys.readouterr().out)
    steps = {step["key"]: step for step in report["steps"]}
    assert (report["status"], report["version"], report["enrolled"]) == ("live", 1, 1)
    assert steps["welcome"] == {"key": "welcome", "kind": "email", "waiting": 0, "done": 1, "failed": 0, "exited": 0}
    assert steps["opened-welcome"]["waiting"] == 1
    assert Journey.objects.get(pk=journey_id).definition["triggers"] == [{"type": "list", "list": "news"}]


@pytest.mark.parametrize("template", ["reengagement", "birthday", "post_purchase", "lead_nurture"])
def test_every_shipped_template_installs(template, capsys):
    call_command("install_journey", template)

    assert Journey.objects.get(pk=int(capsys.readouterr().out)).current_version.number == 1
