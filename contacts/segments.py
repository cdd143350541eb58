"""Segment rules compiled to one SQL filter (a Django ``Q`` built of lookups and ``Exists``).

The rule language (stored in ``Segment.rules``) is JSON. A **group** combines rules::

    {"match": "all" | "any", "rules": [<rule or group>, ...]}

An empty object ``{}`` (or a group without rules) matches every contact. Every rule and
group may carry ``"negate": true``.

**Field rules** ``{"field": F, "op": OP, "value": V}``

- ``F`` is a profile field (``email``, ``first_name``, ``last_name``, ``company``,
  ``job_title``, ``phone``, ``industry``, ``region``, ``city``, ``country``, ``language``,
  ``time_zone``, ``customer_type``, ``grade``, ``source``, ``status``, ``standing``,
  ``verification``, ``owner`` (user id), ``engagement_score``, ``created_at``,
  ``last_engaged_at``, ``last_opened_at``, ``last_clicked_at``, ``last_sent_at``,
  ``consent_at``, ``confirmed_at``), ``satisfaction`` (the latest score the contact gave a
  satisfaction question, a number) or ``custom.<key>`` for a custom field.
- ``OP`` is one of ``equals``, ``not_equals``, ``contains`` (case-insensitive), ``in``
  (V is a list), ``not_in``, ``gte``, ``lte``, ``between`` (V is ``[low, high]``,
  inclusive; on dates a plain date as ``high`` takes in that whole day), ``empty``,
  ``not_empty`` (no V), ``before``, ``after`` (V is an ISO date or datetime),
  ``within_last_days`` (V is a number of days; for dates).
  Custom dates are stored as ``YYYY-MM-DD`` strings, so date operators compare them as such.

**Membership rules**

- ``{"field": "list", "op": "in" | "not_in", "value": ["slug", ...]}`` — subscribed
  (status ``subscribed``) to any of the lists;
- ``{"field": "tag", "op": "in" | "not_in", "value": ["vip", ...]}`` — has any of the tags.

**Behaviour rules** read the contact's history (``Activity``):

- ``{"event": "opened" | "clicked" | "bounced" | "complained" | "unsubscribed" | "sent",
  "within_days": N, "campaign": ID, "link": URL}`` — at least one such event; every key
  but ``event`` is optional. ``opened`` and ``clicked`` ignore machine events (privacy
  proxies, link scanners); ``bounced`` means a hard bounce.
- ``{"event": "not_opened", "last_campaigns": N}`` — was sent at least N campaigns and
  opened none of the last N sent.

Example: retail contacts on the newsletter who clicked in the last 30 days::

    {"match": "all", "rules": [
        {"field": "industry", "op": "equals", "value": "Retail"},
        {"field": "list", "op": "in", "value": ["newsletter"]},
        {"event": "clicked", "within_days": 30}]}

Use it as ``Contact.objects.filter(compile_rules(rules))`` (or ``segment.to_q()``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from contacts.models import Activity, Contact, Segment, Subscription, TaggedContact


class SegmentError(ValueError):
    """The rules are not valid; the message says which part."""


TEXT_FIELDS = {
    "email",
    *Contact.PROFILE_FIELDS,
    "grade",
    "source",
    "status",
    "standing",
    "verification",
}
NUMBER_FIELDS = {"engagement_score", "owner"}
DATE_FIELDS = {
    "created_at",
    "last_engaged_at",
    "last_opened_at",
    "last_clicked_at",
    "last_sent_at",
    "consent_at",
    "confirmed_at",
}
EVENTS = {
    "opened": Activity.Kind.OPENED,
    "clicked": Activity.Kind.CLICKED,
    "bounced": Activity.Kind.BOUNCED_HARD,
    "complained": Activity.Kind.COMPLAINED,
    "unsubscribed": Activity.Kind.UNSUBSCRIBED,
    "sent": Activity.Kind.SENT,
}
CUSTOM_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_DEPTH = 8


def compile_rules(rules: dict[str, Any]) -> Q:
    """Compile a rule tree to a Q object. An empty rule set matches every contact."""
    if not rules:
        return Q()
    if not isinstance(rules, dict):
        raise SegmentError("rules must be a JSON object")
    return _node(rules, depth=0)


def count_members(segments: Iterable[Segment]) -> dict[int, int | None]:
    """How many contacts each segment holds, all counted in one query (one filtered COUNT
    per segment); None for a segment whose stored rules no longer compile."""
    counts: dict[int, int | None] = {}
    totals = {}
    for segment in segments:
        try:
            totals[f"segment_{segment.pk}"] = Count("pk", filter=segment.to_q())
            counts[segment.pk] = 0
        except SegmentError:
            counts[segment.pk] = None
    if totals:
        for name, total in Contact.objects.aggregate(**totals).items():
            counts[int(name.removeprefix("segment_"))] = total
    return counts


def _node(node: Any, depth: int) -> Q:
    if not isinstance(node, dict):
        raise SegmentError(f"a rule must be an object, got {node!r}")
    if depth > MAX_DEPTH:
        raise SegmentError(f"groups nest deeper than {MAX_DEPTH} levels")
    if "rules" in node or "match" in node:
        q = _group(node, depth)
    elif "event" in node:
        q = _event(node)
    elif "field" in node:
        q = _field(node)
    else:
        raise SegmentError(f"not a rule or group: {node!r}")
    return ~q if node.get("negate") else q


def _group(node: dict[str, Any], depth: int) -> Q:
    match = node.get("match", "all")
    if match not in ("all", "any"):
        raise SegmentError(f"match must be 'all' or 'any', got {match!r}")
    children = node.get("rules", [])
    if not isinstance(children, list):
        raise SegmentError("a group's rules must be a list")
    combined = Q()
    for child in children:
        q = _node(child, depth + 1)
        combined = (combined & q) if match == "all" else (combined | q)
    return combined


def _field(node: dict[str, Any]) -> Q:
    field, op, value = node["field"], node.get("op", "equals"), node.get("value")
    if field == "list":
        return _membership(
            op,
            value,
            Subscription.objects.filter(contact=OuterRef("pk"), status=Subscription.Status.SUBSCRIBED),
            "mailing_list__slug__in",
        )
    if field == "tag":
        return _membership(op, value, TaggedContact.objects.filter(content_object=OuterRef("pk")), "tag__name__in")
    if isinstance(field, str) and field.startswith("custom."):
        key = field.removeprefix("custom.")
        if not CUSTOM_KEY.match(key):
            raise SegmentError(f"not a custom field key: {key!r}")
        return _compare(f"custom_fields__{key}", op, value, kind="custom")
    if field == "satisfaction":
        # The tracking app writes the latest answer as a number into custom_fields.
        return _compare("custom_fields__satisfaction", op, _numbers(value), kind="number")
    if field in TEXT_FIELDS:
        return _compare(field, op, value, kind="text")
    if field in NUMBER_FIELDS:
        return _compare("owner_id" if field == "owner" else field, op, value, kind="number")
    if field in DATE_FIELDS:
        return _compare(field, op, value, kind="date")
    raise SegmentError(f"unknown field {field!r}")


def _membership(op: str, value: Any, subquery: Any, lookup: str) -> Q:
    names = _list(value)
    exists = Q(Exists(subquery.filter(**{lookup: names})))
    if op == "in":
        return exists
    if op == "not_in":
        return ~exists
    raise SegmentError(f"list and tag rules take 'in' or 'not_in', got {op!r}")


def _compare(lookup: str, op: str, value: Any, kind: str) -> Q:
    if op == "empty":
        return _empty(lookup, kind)
    if op == "not_empty":
        return ~_empty(lookup, kind)
    if op in ("before", "after", "within_last_days") or (op == "between" and kind == "date"):
        if kind not in ("date", "custom"):
            raise SegmentError(f"{op!r} needs a date field, not {lookup!r}")
        return _date_compare(lookup, op, value, as_text=kind == "custom")
    if op == "equals":
        return Q(**{lookup: _scalar(value)})
    if op == "not_equals":
        differs = ~Q(**{lookup: _scalar(value)})
        # A missing custom key is NULL in SQL, and NOT (NULL = x) is not true: count it as different.
        return differs | Q(**{f"{lookup}__isnull": True}) if kind == "custom" else differs
    if op == "contains":
        return Q(**{f"{lookup}__icontains": str(_scalar(value))})
    if op == "in":
        return Q(**{f"{lookup}__in": _list(value)})
    if op == "not_in":
        return ~Q(**{f"{lookup}__in": _list(value)})
    if op in ("gte", "lte"):
        return Q(**{f"{lookup}__{op}": _scalar(value)})
    if op == "between":
        low, high = _pair(value)
        return Q(**{f"{lookup}__gte": low, f"{lookup}__lte": high})
    raise SegmentError(f"unknown operator {op!r}")


def _empty(lookup: str, kind: str) -> Q:
    if kind in ("text", "custom"):
        return Q(**{f"{lookup}__isnull": True}) | Q(**{lookup: ""})
    return Q(**{f"{lookup}__isnull": True})


def _date_compare(lookup: str, op: str, value: Any, *, as_text: bool) -> Q:
    if op == "between":
        if as_text:
            low, high = _pair(value)
            return Q(**{f"{lookup}__gte": str(low), f"{lookup}__lte": str(high)})
        return _moment_range(lookup, *_pair(value))
    if op == "within_last_days":
        try:
            days = int(value)
        except (TypeError, ValueError):
            raise SegmentError(f"within_last_days needs a number of days, got {value!r}") from None
        since = timezone.now() - timedelta(days=days)
        bound: Any = since.date().isoformat() if as_text else since
        return Q(**{f"{lookup}__gte": bound})
    moment = _moment(value)
    bound = moment.date().isoformat() if as_text else moment
    return Q(**{f"{lookup}__{'lt' if op == 'before' else 'gt'}": bound})


def _moment_range(lookup: str, low: Any, high: Any) -> Q:
    """Both ends inclusive; a date alone as the upper end means the whole of that day."""
    end = _moment(high)
    whole_day = parse_date(str(high)) is not None
    upper = Q(**{f"{lookup}__lt": end + timedelta(days=1)}) if whole_day else Q(**{f"{lookup}__lte": end})
    return Q(**{f"{lookup}__gte": _moment(low)}) & upper


def _moment(value: Any) -> datetime:
    text = str(value)
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise SegmentError(f"not an ISO date: {value!r}")
        parsed = datetime.combine(day, time.min)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.get_current_timezone())


def _event(node: dict[str, Any]) -> Q:
    event = node["event"]
    if event == "not_opened":
        return _not_opened_last(node.get("last_campaigns"))
    if event not in EVENTS:
        raise SegmentError(f"unknown event {event!r}; one of {', '.join([*EVENTS, 'not_opened'])}")
    activities = Activity.objects.filter(contact=OuterRef("pk"), kind=EVENTS[event])
    if event in ("opened", "clicked"):
        activities = activities.filter(is_machine=False)
    if node.get("within_days") is not None:
        try:
            days = int(node["within_days"])
        except (TypeError, ValueError):
            raise SegmentError(f"within_days needs a number, got {node['within_days']!r}") from None
        activities = activities.filter(occurred_at__gte=timezone.now() - timedelta(days=days))
    if node.get("campaign") is not None:
        activities = activities.filter(campaign_id=_integer(node["campaign"], "campaign"))
    if node.get("link"):
        activities = activities.filter(link_url=str(node["link"]))
    return Q(Exists(activities))


def _not_opened_last(count: Any) -> Q:
    """Sent at least N campaigns, and none of the last N sent was opened."""
    count = _integer(count, "last_campaigns")
    if count < 1:
        raise SegmentError("last_campaigns must be at least 1")
    sent = Activity.objects.filter(kind=Activity.Kind.SENT, campaign_id__isnull=False).order_by("-occurred_at")
    received_enough = Exists(sent.filter(contact=OuterRef("pk"))[count - 1 : count])
    last_campaigns = sent.filter(contact=OuterRef(OuterRef("pk"))).values("campaign_id")[:count]
    opened_one = Exists(
        Activity.objects.filter(
            contact=OuterRef("pk"), kind=Activity.Kind.OPENED, is_machine=False, campaign_id__in=last_campaigns
        )
    )
    return Q(received_enough) & ~Q(opened_one)


def _numbers(value: Any) -> Any:
    """Scores typed into the builder arrive as text; the stored score is a JSON number."""
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, (list, dict)) or value is None:
        raise SegmentError(f"expected a single value, got {value!r}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise SegmentError(f"expected a non-empty list, got {value!r}")
    return value


def _pair(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise SegmentError(f"between needs [low, high], got {value!r}")
    return value[0], value[1]


def _integer(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SegmentError(f"{name} must be a whole number, got {value!r}") from None
