"""The journey definition language and its plan: a tree of keyed steps flattened into
"what comes after each key", so the engine moves whole batches by key.

A definition is JSON::

    {"triggers": [{"type": "list", "list": "newsletter"}, ...],
     "steps": [<step>, ...]}

Every step has a unique ``key`` (up to 32 characters) and a ``type``:

- ``email``: ``subject`` and ``text`` (paragraphs, blank-line separated; merge tags allowed),
  optional ``heading``, ``button`` ``{"label", "url"}`` and a satisfaction ``question``
  ``{"text", "scale"}`` (scale 5 or 10); or ``content``, the id of a campaign composed in the
  campaign builder, whose subject, preheader, layout, sender and body it sends instead
  (automations/content.py);
- ``wait``: ``minutes`` / ``hours`` / ``days`` (added together), or ``weekday`` (0 = Monday,
  optional) with ``hour`` (0-23): the next such moment in the contact's own time zone;
- ``condition``: one of ``segment`` (segment rules, see contacts/segments.py), ``opened`` or
  ``clicked`` (the key of an earlier email step; human activity only), then ``yes`` and
  ``no`` lists of steps;
- ``split``: ``percent`` (0-100) of contacts take ``yes``, the rest ``no``;
- ``tag`` / ``untag``: ``tag``; ``add_to_list`` / ``remove_from_list``: ``list`` (slug);
- ``set_field``: ``field`` (a profile field or ``custom.<key>``) and ``value``;
- ``task``: a task for the contact's owner, ``title`` and ``days`` until due;
- ``goal``: ``segment`` rules; a contact matching them at any step leaves the journey
  as having reached the goal (when reached in order it is a checkpoint);
- ``exit``: leave the journey.

A branch that ends rejoins the step after its condition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contacts.models import Contact
from contacts.segments import SegmentError, compile_rules

BRANCHING = {"condition", "split"}
SIMPLE = {
    "email",
    "wait",
    "tag",
    "untag",
    "add_to_list",
    "remove_from_list",
    "set_field",
    "task",
    "goal",
    "exit",
}
SETTABLE_FIELDS = {*Contact.PROFILE_FIELDS, "grade"}
TRIGGERS = {"list", "segment", "tag", "field", "date", "opened", "clicked", "inactive", "deal", "event", "manual"}


class DefinitionError(ValueError):
    """The definition is not valid; the message says which step."""


@dataclass
class Node:
    step: dict[str, Any]
    after: str | None
    branches: dict[str, str | None] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.step["type"]


@dataclass
class Plan:
    first: str | None
    nodes: dict[str, Node]

    def __getitem__(self, key: str) -> Node:
        return self.nodes[key]

    def keys(self) -> list[str]:
        return list(self.nodes)

    def goals(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.kind == "goal"]

    def email_before(self, key: str) -> str | None:
        """The key of the last email step an enrolment passes before ``key`` on its way from the start."""
        path = self.path_to(key)
        emails = [k for k in path if self.nodes[k].kind == "email"]
        return emails[-1] if emails else None

    def path_to(self, key: str) -> list[str]:
        """Keys before ``key`` on the way there (any branch), or [] when unreachable."""
        parents: dict[str, str] = {}
        for parent, node in self.nodes.items():
            for target in [node.after, *node.branches.values()]:
                if target is not None and target not in parents and target != self.first:
                    parents[target] = parent
        path, current = [], key
        while current in parents:
            current = parents[current]
            path.append(current)
        return list(reversed(path))


def plan(definition: dict[str, Any]) -> Plan:
    """Flatten the step tree; raises DefinitionError on any invalid step."""
    nodes: dict[str, Node] = {}
    steps = definition.get("steps") if isinstance(definition, dict) else None
    if not isinstance(steps, list):
        raise DefinitionError('the definition needs a "steps" list')
    first = _flatten(steps, None, nodes)
    if _count(steps) != len(nodes):
        raise DefinitionError("a step key is repeated: every step needs its own key")
    for trigger in definition.get("triggers", []):
        if not isinstance(trigger, dict) or trigger.get("type") not in TRIGGERS:
            raise DefinitionError(f"unknown trigger {trigger!r}; use one of {', '.join(sorted(TRIGGERS))}")
    return Plan(first, nodes)


def _flatten(steps: list[Any], after: str | None, nodes: dict[str, Node]) -> str | None:
    """Add ``steps`` (followed by ``after``) to ``nodes``; returns the key of the first."""
    keys: list[str] = []
    for step in steps:
        keys.append(_key(step, nodes, keys))
    for index, step in enumerate(steps):
        following = keys[index + 1] if index + 1 < len(steps) else after
        _check(step)
        node = Node(step, following)
        nodes[keys[index]] = node
        if step["type"] in BRANCHING:
            for branch in ("yes", "no"):
                children = step.get(branch, [])
                if not isinstance(children, list):
                    raise DefinitionError(f"step {keys[index]}: {branch} must be a list of steps")
                node.branches[branch] = _flatten(children, following, nodes) if children else following
    return keys[0] if keys else after


def _count(steps: list[dict[str, Any]]) -> int:
    return sum(1 + _count(step.get("yes") or []) + _count(step.get("no") or []) for step in steps)


def _key(step: Any, nodes: dict[str, Node], siblings: list[str]) -> str:
    if not isinstance(step, dict) or not isinstance(step.get("key"), str) or not step["key"]:
        raise DefinitionError(f"every step needs a key: {step!r}")
    key = step["key"]
    if len(key) > 32 or key in nodes or key in siblings:
        raise DefinitionError(f"step key {key!r} is repeated or longer than 32 characters")
    return key


def _check(step: dict[str, Any]) -> None:
    key, kind = step["key"], step.get("type")
    if kind not in BRANCHING | SIMPLE:
        raise DefinitionError(f"step {key}: unknown type {kind!r}")
    required = {
        "email": ["subject", "text"],
        "tag": ["tag"],
        "untag": ["tag"],
        "add_to_list": ["list"],
        "remove_from_list": ["list"],
        "set_field": ["field"],
        "task": ["title"],
        "goal": ["segment"],
    }.get(kind, [])
    if kind == "email" and step.get("content") not in (None, ""):
        if not str(step["content"]).isdigit():
            raise DefinitionError(f"step {key}: content must be the id of a campaign")
        required = []
    missing = [name for name in required if not step.get(name)]
    if missing:
        raise DefinitionError(f"step {key}: {kind} needs {', '.join(missing)}")
    if kind == "set_field" and step["field"] not in SETTABLE_FIELDS and not step["field"].startswith("custom."):
        raise DefinitionError(f"step {key}: cannot set {step['field']!r}")
    if kind == "condition" and sum(name in step for name in ("segment", "opened", "clicked")) != 1:
        raise DefinitionError(f"step {key}: a condition needs exactly one of segment, opened, clicked")
    if kind == "split" and not 0 <= int(step.get("percent", 50)) <= 100:
        raise DefinitionError(f"step {key}: percent must be between 0 and 100")
    if kind == "wait" and "hour" in step and not 0 <= int(step["hour"]) <= 23:
        raise DefinitionError(f"step {key}: hour must be between 0 and 23")
    for name in ("segment",):
        if name in step:
            try:
                compile_rules(step[name])
            except SegmentError as error:
                raise DefinitionError(f"step {key}: {error}") from None
