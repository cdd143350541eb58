"""Email steps whose content is a campaign composed in the campaign builder (its ``content``
key names the campaign): the fields copied into the step's own campaign, the checks of the
editor and the flow page's lint, and which campaigns journeys use as content.

Such a campaign is a template, never a send: while a journey names it, the campaign builder
refuses to schedule or send it (``refuse_sending``, connected to campaigns' ``sending_checks``),
so it can never go to a whole list by mistake. Copy it to send it as a campaign."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from automations.models import Journey, JourneyVersion
from automations.steps import DefinitionError
from campaigns.lint import lint as campaign_lint
from campaigns.models import Campaign
from templates_mail.lint import blocking

# Copied from the content campaign into the campaign of the step (an A/B test or an audience is
# the content campaign's own business: a journey step sends one email to whoever reaches it).
COPIED = ["subject", "preheader", "sender_id", "reply_to", "layout_id", "text_body", "utm_enabled"]


def content_id(step: dict[str, Any]) -> int | None:
    value = step.get("content")
    return int(value) if value not in (None, "") else None


def campaign_fields(step: dict[str, Any], inline_body: Callable[[dict], list[dict]]) -> dict[str, Any]:
    """Subject, body and the rest of the step's campaign: the content campaign's when the step
    names one (raises Campaign.DoesNotExist when it is gone), else the inline fields'."""
    pk = content_id(step)
    if pk is None:
        return {"subject": str(step["subject"])[:300], "body": inline_body(step)}
    source = Campaign.objects.get(pk=pk)
    return {**{name: getattr(source, name) for name in COPIED}, "body": source.body.get_prep_value()}


def email_steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Every email step of the definition, branches included, in the order they are written."""
    found: list[dict[str, Any]] = []

    def walk(steps: list[Any]) -> None:
        for step in steps:
            if isinstance(step, dict):
                found.extend([step] if step.get("type") == "email" and step.get("key") else [])
                walk([*(step.get("yes") or []), *(step.get("no") or [])])

    walk(definition.get("steps") or [])
    return found


def check(definition: dict[str, Any]) -> None:
    """Refuse an email step whose content campaign does not exist (or is another step's campaign)."""
    wanted = {step["key"]: content_id(step) for step in email_steps(definition) if content_id(step) is not None}
    usable = set(Campaign.objects.filter(pk__in=wanted.values(), journey_step=None).values_list("pk", flat=True))
    for key, pk in wanted.items():
        if pk not in usable:
            raise DefinitionError(f"step {key}: the content campaign {pk} does not exist")


def lint(definition: dict[str, Any]) -> list[str]:
    """Problems of the content campaigns as the campaign builder's lint finds them (a missing
    unsubscribe link among them), or their absence."""
    problems = []
    campaigns = Campaign.objects.select_related("layout", "sender").in_bulk(
        [pk for step in email_steps(definition) if (pk := content_id(step)) is not None]
    )
    for step in email_steps(definition):
        pk = content_id(step)
        if pk is None:
            continue
        if pk not in campaigns:
            problems.append(f"email {step['key']}: its content campaign {pk} no longer exists")
            continue
        for issue in blocking(campaign_lint(campaigns[pk])):
            problems.append(f"email {step['key']} ({campaigns[pk].name}): {issue.message}")
    return problems


def journeys_by_content() -> dict[int, dict[int, str]]:
    """Campaign id -> {journey id: name} of the journeys (any version) whose email steps take it as content."""
    found: dict[int, dict[int, str]] = defaultdict(dict)
    rows = [
        *Journey.objects.values_list("pk", "name", "definition"),
        *JourneyVersion.objects.values_list("journey_id", "journey__name", "definition"),
    ]
    for journey_id, name, definition in rows:
        for step in email_steps(definition or {}):
            if (pk := content_id(step)) is not None:
                found[pk][journey_id] = name
    return dict(found)


def refusals(campaign: Campaign) -> list[str]:
    """Why this campaign must not be scheduled or sent as a campaign of its own."""
    names = sorted(journeys_by_content().get(campaign.pk, {}).values())
    if not names:
        return []
    return [f"it is the content of the journey {', '.join(names)}: the journey sends it; copy it to send it to a list"]


def refuse_sending(sender: Any, campaign: Campaign, **kwargs: Any) -> list[str]:
    return refusals(campaign)
