"""The journey pages: editing a live journey makes a version, a bad definition is refused,
the flow page shows the test-run path and lint."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from contacts.roles import MARKETERS, ensure_groups
from tests.automations.conftest import email, live_journey
from tests.factories import ContactFactory, MailingListFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client):
    ensure_groups()
    client.force_login(UserFactory(username="marketer", groups=[MARKETERS]))
    return client


def edit(client, journey, definition) -> object:
    """Through the editor's advanced path (the JSON); tests/automations/test_editor.py posts blocks."""
    data = {"name": journey.name, "reentry": "once", "reentry_days": "30", "triggers-count": 0, "steps-count": 0}
    data |= {"edit_as_json": "on", "definition_json": json.dumps(definition)}
    return client.post(reverse("journeys:edit", args=[journey.pk]), data)


def test_a_definition_with_a_repeated_key_is_refused_with_the_reason(marketer):
    journey = live_journey([email("a")])

    response = edit(marketer, journey, {"steps": [email("a"), email("a")]})

    assert "step key &#x27;a&#x27; is repeated" in response.content.decode()
    journey.refresh_from_db()
    assert journey.current_version.number == 1


def test_editing_a_live_journey_makes_a_new_version(marketer):
    journey = live_journey([email("a")])

    edit(marketer, journey, {"steps": [email("a"), {"key": "t", "type": "tag", "tag": "x"}]})

    journey.refresh_from_db()
    assert journey.current_version.number == 2
    assert journey.versions.count() == 2


def test_the_flow_page_shows_the_test_run_path_and_lint(marketer):
    steps = [
        email("hello"),
        {"key": "opened", "type": "condition", "opened": "hello", "yes": [], "no": []},
        {"key": "bye", "type": "exit"},
        {"key": "never", "type": "tag", "tag": "x"},
    ]
    journey = live_journey(steps)
    ContactFactory(email="ada@example.com")

    page = marketer.get(reverse("journeys:flow", args=[journey.pk]), {"contact": "ada@example.com"}).content.decode()

    assert "unreachable after the exit bye: never" in page
    assert "less than the tracking drain" in page
    assert "<li><code>opened</code> condition: no</li>" in page


def test_the_flow_page_names_the_triggers_in_words(marketer):
    MailingListFactory(slug="news", name="Monthly news")
    journey = live_journey([email("hello")], [{"type": "list", "list": "news"}, {"type": "inactive", "days": 60}])

    page = marketer.get(reverse("journeys:flow", args=[journey.pk])).content.decode()

    assert "<li>Joined the list Monthly news</li>" in page
    assert "<li>No human activity for 60 days</li>" in page


def test_a_branch_step_reusing_a_later_key_is_refused(marketer):
    journey = live_journey([email("a")])
    branch = {"key": "s", "type": "split", "yes": [email("b")], "no": []}

    response = edit(marketer, journey, {"steps": [branch, email("b")]})

    assert "a step key is repeated" in response.content.decode()
