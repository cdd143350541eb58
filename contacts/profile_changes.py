"""What an edit of a contact's profile really changed, in words for the history.

A form reports a field as changed when its widget merely re-encoded the same value (a JSON
field, a select resubmitted as is); comparing with the stored row keeps only real changes,
and each is described as a person would say it ("Owner changed to Sam").
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist

from contacts.models import Activity, Contact

# Fields whose changes are history events of their own kind, with from/to, not profile edits.
EVENT_KINDS = {"owner": Activity.Kind.OWNER, "grade": Activity.Kind.GRADE}

# Free text too long to quote in a one-line history entry.
_UNQUOTED = {"notes"}


def stored_values(contact: Contact, names: list[str]) -> dict[str, Any]:
    """The values of the concrete fields among ``names`` as the database has them now."""
    columns = {name: _field(name).attname for name in names if _is_column(name)}
    if contact.pk is None or not columns:
        return {}
    row = Contact.objects.filter(pk=contact.pk).values(*columns.values()).first() or {}
    return {name: row.get(column) for name, column in columns.items()}


def describe(contact: Contact, names: list[str], before: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(fields that really changed, one sentence per change) of ``contact`` against ``before``."""
    fields, sentences = [], []
    for name in names:
        if _is_column(name) and name in before and before[name] == getattr(contact, _field(name).attname):
            continue
        fields.append(name)
        sentences.extend(_sentences(contact, name, before.get(name)))
    return sorted(fields), sentences


def _sentences(contact: Contact, name: str, old: Any) -> list[str]:
    if name == "owner":
        owner = contact.owner
        return [f"Owner changed to {owner.get_full_name() or owner.get_username()}" if owner else "Owner removed"]
    if name == "custom_fields":
        return _custom_changes(old or {}, contact.custom_fields or {})
    label = _label(name)
    if not _is_column(name) or name in _UNQUOTED:
        return [f"{label} edited"]
    display = getattr(contact, f"get_{name}_display", lambda: getattr(contact, name))()
    return [f"{label} changed to {display}" if display not in ("", None) else f"{label} cleared"]


def _custom_changes(old: dict, new: dict) -> list[str]:
    sentences = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            sentences.append(f"{key} removed")
        elif old.get(key) != new[key]:
            sentences.append(f"{key} changed to {new[key]}")
    return sentences


def _field(name: str):
    return Contact._meta.get_field(name)


def _is_column(name: str) -> bool:
    try:
        return bool(_field(name).concrete) and not _field(name).many_to_many
    except FieldDoesNotExist:
        return False


def _label(name: str) -> str:
    try:
        return str(_field(name).verbose_name).capitalize()
    except FieldDoesNotExist:
        return name.replace("_", " ").capitalize()


def field_events(contact: Contact, names: list[str], before: dict[str, Any], author) -> list[Activity]:
    """One owner/grade event per such field that really changed, with from/to. A grade set by a
    person (``created_by``) is a manual grade, which the grade rules keep (sales/grades.py)."""
    events = []
    for name in sorted(set(names) & EVENT_KINDS.keys()):
        old, new = before.get(name), getattr(contact, _field(name).attname)
        if name not in before or old == new:
            continue
        summary = _owner_summary(old, contact.owner) if name == "owner" else _grade_summary(old, new)
        details = {"summary": summary, "from": old, "to": new}
        if name == "grade" and author is not None:
            details["manual"] = True
        events.append(Activity(contact=contact, kind=EVENT_KINDS[name], details=details, created_by=author))
    return events


def _owner_summary(old_id: int | None, owner) -> str:
    user_model = Contact._meta.get_field("owner").related_model
    old = user_model.objects.filter(pk=old_id).first() if old_id else None
    old_name = (old.get_full_name() or old.get_username()) if old else "nobody"
    if owner is None:
        return f"Owner removed (was {old_name})"
    return f"Owner changed from {old_name} to {owner.get_full_name() or owner.get_username()}"


def _grade_summary(old: str, new: str) -> str:
    if not new:
        return f"Grade {old} removed; the grade rules decide again"
    return f"Grade changed from {old or 'none'} to {new}"


def tags_details(before: list[str], after: list[str]) -> dict[str, Any]:
    added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    words = [f"added {', '.join(added)}"] if added else []
    words += [f"removed {', '.join(removed)}"] if removed else []
    return {"summary": f"Tags {'; '.join(words)}", "from": before, "to": after, "added": added, "removed": removed}
