"""Task state changes: every way a task is made, done, moved or handed over goes through here."""

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from contacts import history
from contacts.models import Activity, Contact
from sales.models import Task


def create_rule_tasks(
    contact_ids: QuerySet, rule_key: str, title: str, kind: str, due_at: datetime, made_by: str = ""
) -> int:
    """One open task per contact for ``rule_key``, owned by the contact's owner, in one
    ``INSERT ... SELECT``; contacts that already have an open task for the rule are left out
    (by the query, and by the partial unique constraint should two runs race). Each task made
    gets its history entry ("Task created by <made_by>: <title>", see :func:`record_rule_tasks`).
    Returns how many tasks were made.

    ``contact_ids`` is any queryset of contact ids, e.g. ``Contact.objects.filter(...).values("pk")``.
    """
    if not rule_key:
        raise ValueError("a rule task needs a rule_key")
    subquery, sub_params = contact_ids.query.sql_with_params()
    table, contacts = Task._meta.db_table, Contact._meta.db_table
    # ON CONFLICT DO NOTHING (PostgreSQL, SQLite >= 3.24) also covers the partial unique index.
    sql = (
        f"INSERT INTO {table} (contact_id, owner_id, kind, title, note, due_at, priority, done_at, origin, "  # noqa: S608
        "rule_key, reminder, reminded_at, reminder_claim, reminder_lease_until, created_by_id, created_at) "
        f"SELECT c.id, c.owner_id, %s, %s, '', %s, %s, NULL, %s, %s, %s, NULL, '', NULL, NULL, %s "
        f"FROM {contacts} c WHERE c.id IN ({subquery}) AND NOT EXISTS ("
        f"SELECT 1 FROM {table} t WHERE t.contact_id = c.id AND t.rule_key = %s AND t.done_at IS NULL) "
        "ON CONFLICT DO NOTHING"
    )
    now = timezone.now()
    params = [
        kind,
        title[:200],
        connection.ops.adapt_datetimefield_value(due_at),
        Task.Priority.NORMAL,
        Task.Origin.RULE,
        rule_key,
        Task.Reminder.PENDING,
        connection.ops.adapt_datetimefield_value(now),
        *sub_params,
        rule_key,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        created = max(cursor.rowcount, 0)
        if created:
            record_rule_tasks(rule_key, now, made_by or rule_key)
    return created


def record_rule_tasks(rule_key: str, created_at: datetime, made_by: str) -> int:
    """The history entry of every open ``rule_key`` task created at ``created_at`` (one
    ``INSERT ... SELECT``): the tasks one run made, which all carry the run's own timestamp."""
    source = (
        f"SELECT id, contact_id, kind, title FROM {Task._meta.db_table} "  # noqa: S608
        "WHERE rule_key = %s AND created_at = %s AND done_at IS NULL"
    )
    return history.insert_select(
        Activity.Kind.TASK,
        source,
        [f"Task created by {made_by}: ", rule_key, connection.ops.adapt_datetimefield_value(created_at)],
        {"summary": "%s || m.title", "task": "m.id", "task_kind": "m.kind"},
        created_at,
        contact_column="contact_id",
    )


def _history(task: Task, summary: str, user: AbstractBaseUser | None) -> None:
    Activity.objects.create(
        contact_id=task.contact_id,
        kind=Activity.Kind.TASK,
        details={"summary": summary, "task": task.pk, "task_kind": task.kind, "note": task.note},
        created_by=user,
    )


def create_task(
    contact: Contact,
    *,
    owner: AbstractBaseUser | None,
    due_at: datetime,
    kind: str = Task.Kind.FOLLOW_UP,
    title: str = "",
    note: str = "",
    by: AbstractBaseUser | None = None,
) -> Task:
    return Task.objects.create(
        contact=contact, owner=owner, due_at=due_at, kind=kind, title=title, note=note, created_by=by
    )


def follow_up(contact: Contact, user: AbstractBaseUser, days: int = 3) -> Task:
    """The contact page's one click: a follow-up for the contact's owner (or the clicker) in ``days``."""
    return create_task(
        contact,
        owner=contact.owner or user,
        due_at=timezone.now() + timedelta(days=days),
        title=f"Follow up with {contact.full_name or contact.email}",
        by=user,
    )


@transaction.atomic
def log_call(contact: Contact, user: AbstractBaseUser, note: str) -> Task:
    """A call that already happened: a done call task, and its summary in the history."""
    now = timezone.now()
    task = Task.objects.create(
        contact=contact,
        owner=user,
        kind=Task.Kind.CALL,
        title="Call",
        note=note,
        due_at=now,
        done_at=now,
        reminder=Task.Reminder.NONE,
        created_by=user,
    )
    _history(task, f"Call logged: {note[:150]}" if note else "Call logged", user)
    return task


@transaction.atomic
def complete(task_id: int, user: AbstractBaseUser, note: str = "") -> bool:
    """Mark an open task done (once: a second click changes nothing) and write it to the history."""
    now = timezone.now()
    updates = {"done_at": now}
    if note:
        updates["note"] = note
    if not Task.objects.filter(pk=task_id, done_at__isnull=True).update(**updates):
        return False
    task = Task.objects.get(pk=task_id)
    _history(task, f"Task done: {task}", user)
    return True


def snooze(task_id: int, due_at: datetime) -> bool:
    """Move an open task to a new due time; its reminder fires again at the new time unless
    it is on its way right now (a claimed reminder is never re-armed under the worker)."""
    moved = Task.objects.filter(pk=task_id, done_at__isnull=True).update(due_at=due_at)
    Task.objects.filter(
        pk=task_id, done_at__isnull=True, reminder__in=[Task.Reminder.SENT, Task.Reminder.UNKNOWN, Task.Reminder.FAILED]
    ).update(reminder=Task.Reminder.PENDING, reminder_claim="", reminder_lease_until=None)
    return bool(moved)


@transaction.atomic
def reassign(task_id: int, owner: AbstractBaseUser, user: AbstractBaseUser) -> bool:
    if not Task.objects.filter(pk=task_id, done_at__isnull=True).update(owner=owner):
        return False
    task = Task.objects.get(pk=task_id)
    _history(task, f"Task handed to {owner.get_full_name() or owner.get_username()}: {task}", user)
    return True
