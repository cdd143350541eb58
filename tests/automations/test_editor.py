"""The block editor is a view of the stored definition: every shipped template comes back
identical through the blocks, and a journey saved through the form runs as before."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from wagtail import blocks

from automations import content, services
from automations.editor import from_blocks, to_blocks
from automations.forms import journey_blocks
from automations.journey_templates import TEMPLATES
from automations.models import Journey
from automations.steps import DefinitionError
from campaigns import services as campaign_services
from campaigns.models import Message
from contacts.roles import MARKETERS, ensure_groups
from tests.automations.conftest import live_journey, run
from tests.factories import CampaignFactory, ContactFactory, LayoutFactory, MailingListFactory, UserFactory


def through_the_blocks(definition: dict[str, Any]) -> dict[str, Any]:
    triggers, steps = journey_blocks()
    raw_triggers, raw_steps = to_blocks(definition)
    return from_blocks(
        triggers.get_prep_value(triggers.to_python(raw_triggers)), steps.get_prep_value(steps.to_python(raw_steps))
    )


def post_data(block: blocks.Block, value: Any, prefix: str) -> dict[str, Any]:
    """What the admin's block editor posts for this raw stream value."""
    if isinstance(block, blocks.StreamBlock):
        data: dict[str, Any] = {f"{prefix}-count": len(value)}
        for index, item in enumerate(value):
            at = f"{prefix}-{index}"
            data |= {f"{at}-type": item["type"], f"{at}-deleted": "", f"{at}-order": index, f"{at}-id": ""}
            data |= post_data(block.child_blocks[item["type"]], item["value"], f"{at}-value")
        return data
    if isinstance(block, blocks.StructBlock):
        return {
            k: v
            for name, child in block.child_blocks.items()
            for k, v in post_data(child, value.get(name), f"{prefix}-{name}").items()
        }
    if isinstance(block, blocks.StaticBlock) or value is False:
        return {}
    if isinstance(value, str):
        return {prefix: value.replace("\n", "\r\n")}  # as a browser posts a textarea
    return {prefix: "" if value is None else value}


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_every_shipped_template_comes_back_identical_through_the_blocks(template):
    definition = TEMPLATES[template]("newsletter")["definition"]

    assert through_the_blocks(definition) == definition


@pytest.mark.django_db
def test_a_condition_without_its_email_is_refused_in_words(client):
    ensure_groups()
    client.force_login(UserFactory(groups=[MARKETERS]))
    journey = Journey.objects.create(name="Bare")
    condition = {"type": "condition", "value": {"key": "c", "test": "opened", "email": "", "yes": [], "no": []}}
    data = {"name": "Bare", "reentry": "once", "reentry_days": "30", "triggers-count": 0}

    response = client.post(
        reverse("journeys:edit", args=[journey.pk]), data | post_data(journey_blocks()[1], [condition], "steps")
    )

    assert "step c: give the key of the email step the condition looks at" in response.content.decode()


@pytest.mark.django_db
def test_the_welcome_series_saved_through_the_editor_runs_in_the_engine(client):
    ensure_groups()
    client.force_login(UserFactory(groups=[MARKETERS]))
    MailingListFactory(slug="newsletter")
    journey = services.install("welcome", list_slug="newsletter")
    definition = journey.definition
    triggers, steps = journey_blocks()
    raw_triggers, raw_steps = to_blocks(definition)
    data = {"name": journey.name, "reentry": "once", "reentry_days": "30"}
    data |= post_data(triggers, raw_triggers, "triggers") | post_data(steps, raw_steps, "steps")

    response = client.post(reverse("journeys:edit", args=[journey.pk]), data)

    assert response.status_code == 302
    journey.refresh_from_db()
    assert journey.definition == definition
    services.activate(journey)
    services.enrol_one(journey, ContactFactory())
    run()
    assert Message.objects.filter(campaign__journey_step__key="welcome").count() == 1


@pytest.mark.django_db
def test_an_email_step_with_content_from_the_builder_sends_that_campaigns_subject_and_body(
    smtp, django_capture_on_commit_callbacks
):
    body = [{"type": "heading", "value": {"text": "Composed in the builder", "level": "h1"}}]
    content = CampaignFactory(subject="Welcome aboard", body=body)
    journey = live_journey([{"key": "welcome", "type": "email", "content": content.pk}])
    contact = ContactFactory()
    services.enrol_one(journey, contact)

    with django_capture_on_commit_callbacks(execute=True):
        run()

    [message] = smtp.parsed()
    assert (message["To"], message["Subject"]) == (contact.email, "Welcome aboard")
    assert "Composed in the builder" in message.get_body(("html",)).get_content()
    assert "content of the journey Test journey" in " ".join(campaign_services.blocking_problems(content))


@pytest.mark.django_db
def test_a_content_campaign_that_does_not_exist_is_refused():
    with pytest.raises(DefinitionError, match="step w: the content campaign 404 does not exist"):
        content.check({"steps": [{"key": "w", "type": "email", "content": 404}]})


@pytest.mark.django_db
def test_the_flow_lint_names_a_content_campaign_without_an_unsubscribe_link():
    layout = LayoutFactory(html="<html><body>{{ content }} {{ postal_address }}</body></html>")
    campaign = CampaignFactory(name="Bare", layout=layout, body=[{"type": "text", "value": {"text": "<p>Hi</p>"}}])

    problems = content.lint({"steps": [{"key": "w", "type": "email", "content": campaign.pk}]})

    assert any(problem.startswith("email w (Bare): No unsubscribe link") for problem in problems)
