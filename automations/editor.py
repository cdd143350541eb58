"""The stored journey definition (automations/steps.py) as the editor blocks' raw stream data
and back: the engine and the stored format stay as they are, the editor is only a view of them."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from wagtail.blocks import StreamBlockValidationError, StructBlockValidationError

from automations.blocks import MAX_DEPTH
from automations.steps import BRANCHING, DefinitionError
from contacts.models import Segment

Raw = list[dict[str, Any]]
MINUTES = {"days": 1440, "hours": 60, "minutes": 1}
# The one option of the simpler triggers.
OPTIONS = {"list": ["list"], "tag": ["tag"], "field": ["field"], "event": ["name"]}


class TooDeepError(ValueError):
    """The definition nests branches deeper than the blocks do (edit it as JSON)."""


def used_values(definition: dict[str, Any]) -> dict[str, set[str]]:
    """Values the journey's selects must offer even when nothing defines them any more."""
    used: dict[str, set[str]] = {
        "lists": set(),
        "segments": set(),
        "fields": set(),
        "campaigns": set(),
        "content": set(),
    }
    for item in [*definition.get("triggers", []), *_all_steps(definition.get("steps", []))]:
        for name, kind in (("list", "lists"), ("field", "fields"), ("campaign", "campaigns"), ("content", "content")):
            if item.get(name) not in (None, ""):
                used[kind].add(str(item[name]))
        if item.get("type") == "segment" and item.get("segment") is not None:
            used["segments"].add(str(item["segment"]))
    return used


def _all_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for step in steps for x in [step, *_all_steps(step.get("yes") or []), *_all_steps(step.get("no") or [])]]


# The definition to the blocks' raw data.


def to_blocks(definition: dict[str, Any]) -> tuple[Raw, Raw]:
    """Raw stream data (triggers, steps) of a definition; raises TooDeepError."""
    return [_trigger_block(t) for t in definition.get("triggers", [])], _step_blocks(definition.get("steps", []), 1)


def _with_id(block: dict[str, Any]) -> dict[str, Any]:
    # The editor names each block's panel by its id: ids must be unique on the page.
    return {"id": str(uuid.uuid4()), **block}


def _trigger_block(trigger: dict[str, Any]) -> dict[str, Any]:
    kind = trigger["type"]
    value: Any = {name: trigger.get(name, "") for name in OPTIONS.get(kind, [])}
    if kind == "segment":
        value = {"segment": str(trigger.get("segment", "")), "rules": _dump(trigger.get("rules"))}
    elif kind == "date":
        days = int(trigger.get("days", 0))
        value = {
            "field": trigger.get("field", ""),
            "days": abs(days),
            "when": "before" if days < 0 else "after",
            "hour": int(trigger.get("hour", 0)),
            "yearly": bool(trigger.get("yearly", True)),
        }
    elif kind in ("opened", "clicked"):
        value = {"campaign": str(trigger.get("campaign") or "")}
    elif kind == "inactive":
        value = {"days": int(trigger.get("days", 90))}
    elif kind in ("deal", "manual"):
        value = None
    return _with_id({"type": kind, "value": value})


def _step_blocks(steps: list[dict[str, Any]], depth: int) -> Raw:
    if depth > MAX_DEPTH or (depth == MAX_DEPTH and any(s.get("type") in BRANCHING for s in steps)):
        raise TooDeepError(f"branches nest deeper than {MAX_DEPTH - 1} levels")
    return [
        _with_id({"type": step["type"], "value": {"key": step["key"], **_step_value(step, depth)}}) for step in steps
    ]


def _step_value(step: dict[str, Any], depth: int) -> dict[str, Any]:
    kind = step["type"]
    if kind == "email":
        button, question = step.get("button") or {}, step.get("question") or {}
        return {
            "content": str(step.get("content") or ""),
            **{name: step.get(name, "") for name in ("subject", "heading", "text")},
            "button_label": button.get("label", ""),
            "button_url": button.get("url", ""),
            "question": question.get("text", ""),
            "scale": str(question.get("scale") or 5),
        }
    if kind == "wait":
        amount, unit = _duration(step)
        return {
            "amount": amount,
            "unit": unit,
            "weekday": str(step.get("weekday", "")),
            "hour": str(step.get("hour", "")),
        }
    if kind in BRANCHING:
        branches = {name: _step_blocks(step.get(name) or [], depth + 1) for name in ("yes", "no")}
        if kind == "split":
            return {"percent": int(step.get("percent", 50)), **branches}
        test = next((name for name in ("opened", "clicked") if name in step), "segment")
        email = step.get(test, "") if test != "segment" else ""
        return {"test": test, **_segment_value(step.get("segment")), "email": email, **branches}
    if kind == "goal":
        return _segment_value(step.get("segment"))
    return {name: step[name] for name in ("tag", "list", "field", "value", "title", "days") if name in step}


def _duration(step: dict[str, Any]) -> tuple[int | None, str]:
    units = [unit for unit in MINUTES if unit in step]
    if not units:
        return None, "days"
    if len(units) == 1 and float(step[units[0]]).is_integer():
        return int(step[units[0]]), units[0]
    minutes = round(sum(float(step[unit]) * MINUTES[unit] for unit in units))
    unit = next(unit for unit, size in MINUTES.items() if minutes % size == 0)
    return minutes // MINUTES[unit], unit


def _segment_value(rules: Any) -> dict[str, str]:
    """A segment with exactly these rules is shown chosen; other rules stay as JSON."""
    if rules is None:
        return {"segment": "", "rules": ""}
    match = Segment.objects.filter(rules=rules).values_list("pk", flat=True).first()
    return {"segment": str(match), "rules": ""} if match else {"segment": "", "rules": _dump(rules)}


def _dump(rules: Any) -> str:
    return json.dumps(rules, ensure_ascii=False) if rules is not None else ""


# The blocks' raw data to the definition.


def from_blocks(triggers: Raw, steps: Raw) -> dict[str, Any]:
    """The definition the blocks describe; raises DefinitionError (in words) on what they lack."""
    taken = {value["key"] for value in _all_values(steps) if value.get("key")}
    return {"triggers": [_trigger(item["type"], item["value"]) for item in triggers], "steps": _steps(steps, taken)}


def _all_values(steps: Raw) -> list[dict[str, Any]]:
    return [
        x
        for item in steps
        for x in [
            item["value"],
            *_all_values(item["value"].get("yes") or []),
            *_all_values(item["value"].get("no") or []),
        ]
    ]


def _trigger(kind: str, value: dict[str, Any] | None) -> dict[str, Any]:
    value = value or {}
    trigger: dict[str, Any] = {"type": kind}
    if kind == "segment":
        if value.get("segment"):
            return {**trigger, "segment": int(value["segment"])}
        return {**trigger, "rules": _rules(value.get("rules"), "the segment trigger")}
    if kind == "date":
        days = int(value.get("days") or 0)
        return {
            **trigger,
            "field": value["field"],
            "days": -days if value.get("when") == "before" else days,
            "hour": int(value.get("hour") or 0),
            "yearly": bool(value.get("yearly")),
        }
    if kind in ("opened", "clicked"):
        return {**trigger, "campaign": int(value["campaign"])} if value.get("campaign") else trigger
    return {**trigger, **{name: value[name] for name in ("list", "tag", "field", "name", "days") if name in value}}


def _steps(items: Raw, taken: set[str]) -> list[dict[str, Any]]:
    steps = []
    for index, item in enumerate(items):
        try:
            steps.append(_step(item["type"], dict(item["value"]), taken))
        except DefinitionError as error:
            error.path = [index, *getattr(error, "path", [])]
            raise
    return steps


def _branches(value: dict[str, Any], taken: set[str]) -> dict[str, list[dict[str, Any]]]:
    branches = {}
    for branch in ("yes", "no"):
        try:
            branches[branch] = _steps(value.get(branch) or [], taken)
        except DefinitionError as error:
            error.path = [branch, *getattr(error, "path", [])]
            raise
    return branches


def _step(kind: str, value: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    key = value.pop("key", "") or _new_key(kind, taken)
    step: dict[str, Any] = {"key": key, "type": kind}
    if kind == "email":
        if value.get("content"):
            step["content"] = int(value["content"])
        elif not (value.get("subject") and value.get("text")):
            raise DefinitionError(
                f"step {key}: an email needs a subject and text, or content from the campaign builder"
            )
        # Browsers post a textarea's lines with CRLF; paragraphs are blank-line separated with LF.
        text = (value.get("text") or "").replace("\r\n", "\n")
        step |= {name: field for name, field in (("subject", value.get("subject")), ("text", text)) if field}
        if value.get("heading"):
            step["heading"] = value["heading"]
        if bool(value.get("button_label")) != bool(value.get("button_url")):
            raise DefinitionError(f"step {key}: a button needs both a label and a link")
        if value.get("button_label"):
            step["button"] = {"label": value["button_label"], "url": value["button_url"]}
        if value.get("question"):
            step["question"] = {"text": value["question"], "scale": int(value.get("scale") or 5)}
    elif kind == "wait":
        if value.get("amount") is not None:
            step[value["unit"]] = value["amount"]
        if value.get("hour") not in (None, ""):
            step |= {"weekday": int(value["weekday"])} if value.get("weekday") not in (None, "") else {}
            step["hour"] = int(value["hour"])
    elif kind == "condition":
        if value["test"] == "segment":
            step["segment"] = _segment_rules(value, f"step {key}")
        elif value.get("email"):
            step[value["test"]] = value["email"]
        else:
            raise DefinitionError(f"step {key}: give the key of the email step the condition looks at")
        step |= _branches(value, taken)
    elif kind == "split":
        step |= {
            "percent": value["percent"],
            **{branch: _steps(value.get(branch) or [], taken) for branch in ("yes", "no")},
        }
    elif kind == "goal":
        step["segment"] = _segment_rules(value, f"step {key}")
    else:
        step |= {name: value[name] for name in ("tag", "list", "field", "value", "title", "days") if name in value}
    return step


def _new_key(kind: str, taken: set[str]) -> str:
    number = 1
    while f"{kind}-{number}" in taken:
        number += 1
    taken.add(f"{kind}-{number}")
    return f"{kind}-{number}"


def _segment_rules(value: dict[str, Any], where: str) -> Any:
    if value.get("segment"):
        rules = Segment.objects.filter(pk=value["segment"]).values_list("rules", flat=True).first()
        if rules is None:
            raise DefinitionError(f"{where}: the chosen segment no longer exists")
        return rules
    return _rules(value.get("rules"), where)


def _rules(text: str | None, where: str) -> Any:
    if not text:
        raise DefinitionError(f"{where}: choose a segment (or give its rules as JSON)")
    try:
        return json.loads(text)
    except ValueError:
        raise DefinitionError(f"{where}: the rules are not valid JSON") from None


# A refusal shown on the step it names.


def block_error(error: DefinitionError, definition: dict[str, Any] | None) -> ValidationError:
    """The error on the block of the step it names ("step KEY: ...", or where the blocks failed),
    nested the way the step is; on the whole list when it names no step."""
    message = str(error)
    path = getattr(error, "path", None)
    named = re.match(r"step (\S+?):", message)
    if path is None and named and definition:
        path = _path_to(definition.get("steps", []), named.group(1))
    if not path:
        return ValidationError(message)
    found: ValidationError = StructBlockValidationError(non_block_errors=[message])
    for part in reversed(path):
        if isinstance(part, int):
            found = StreamBlockValidationError(block_errors={part: found})
        else:
            found = StructBlockValidationError(block_errors={part: found})
    return found


def _path_to(steps: list[dict[str, Any]], key: str) -> list[int | str] | None:
    for index, step in enumerate(steps):
        if step.get("key") == key:
            return [index]
        for branch in ("yes", "no"):
            inside = _path_to(step.get(branch) or [], key)
            if inside:
                return [index, branch, *inside]
    return None
