"""Problems a marketer should see before a journey goes live."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from automations import content
from automations.steps import Plan


def lint(steps: Plan, definition: dict[str, Any]) -> list[str]:
    """Unreachable steps, emails without an unsubscribe link, behaviour conditions checked
    sooner after their email than the tracking drain can record an open."""
    problems = _unreachable(definition.get("steps", []))
    problems += _unsubscribe(steps)
    problems += content.lint(definition)
    problems += _too_soon(steps)
    if not definition.get("triggers"):
        problems.append("no trigger: contacts enter only by hand (enrol) or through emit()")
    return problems


def _unreachable(steps: list[dict[str, Any]]) -> list[str]:
    problems = []
    for index, step in enumerate(steps):
        if step.get("type") == "exit" and index + 1 < len(steps):
            later = ", ".join(str(s.get("key")) for s in steps[index + 1 :])
            problems.append(f"unreachable after the exit {step.get('key')}: {later}")
        if step.get("type") == "split":
            percent = int(step.get("percent", 50))
            dead = "yes" if percent == 0 else "no" if percent == 100 else None
            if dead and step.get(dead):
                problems.append(f"the {dead} branch of split {step['key']} is never taken ({percent}%)")
        for branch in ("yes", "no"):
            problems += _unreachable(step.get(branch) or [])
    return problems


def _unsubscribe(steps: Plan) -> list[str]:
    from templates_mail.lint import missing_placeholders
    from templates_mail.models import Layout

    # An email with content from the campaign builder is linted as that campaign (content.lint).
    if not any(node.kind == "email" and content.content_id(node.step) is None for node in steps.nodes.values()):
        return []
    layout = Layout.objects.order_by("-is_default", "name").first()
    if layout is None:
        return ["emails have no layout (and so no unsubscribe link): create a layout first"]
    if "unsubscribe_url" in missing_placeholders(layout.html):
        return [
            f"the layout {layout.name} has no {{{{ unsubscribe_url }}}}: journey emails would lack an unsubscribe link"
        ]
    return []


def _wait(step: dict[str, Any]) -> timedelta:
    return timedelta(
        minutes=float(step.get("minutes", 0)), hours=float(step.get("hours", 0)), days=float(step.get("days", 0))
    )


def _too_soon(steps: Plan) -> list[str]:
    problems, drain = [], timedelta(seconds=settings.TRACKING_DRAIN_SECONDS)
    for key, node in steps.nodes.items():
        email = node.step.get("opened") or node.step.get("clicked") if node.kind == "condition" else None
        if not email:
            continue
        path = steps.path_to(key)
        if email not in path:
            problems.append(f"condition {key} looks at {email}, which is not an email before it")
            continue
        between = path[path.index(email) + 1 :]
        waited = sum((_wait(steps[k].step) for k in between if steps[k].kind == "wait"), timedelta())
        if waited < drain:
            problems.append(
                f"condition {key} follows {email} after {waited}, less than the tracking drain "
                f"({drain}): it will wait for the drain, and most people will not have opened yet"
            )
    return problems
