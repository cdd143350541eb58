"""My day's table rows, rendered in Python: one ``format_html`` per task instead of the
template engine resolving some thirty variables per row, which was most of the page's time
with a full day of tasks (see bench/sales_tasks.py). The page template keeps the rest.

Each row is one form whose buttons post to their own action (``formaction``); the date snooze
comes first, so Enter in the date field snoozes to that date rather than marking the task done.
"""

from dataclasses import dataclass

from django.utils import dateformat
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator, capfirst
from django.utils.timezone import localtime

from sales.models import Task

ROW = (
    '<tr data-task="{pk}"><td><time datetime="{iso}">{when}</time></td><td>{kind}: {label}{extra}</td>'
    '<td><a href="{contact_url}{contact_id}/">{contact}</a></td>{owner}'
    '<td class="rapport-task-actions"><form method="post" action="{act}date/" class="rapport-inline-form">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}"><input type="hidden" name="next" value="{next}">'
    '<input type="date" name="until" min="{tomorrow}" aria-label="Snooze until (date) for {label}">'
    '<button type="submit" class="button button-small button-secondary" '
    'aria-label="Snooze to the chosen date: {label}">Snooze</button>'
    '<button type="submit" formaction="{act}day/" class="button button-small button-secondary" '
    'aria-label="Snooze one day: {label}">+1 day</button>'
    '<button type="submit" formaction="{act}week/" class="button button-small button-secondary" '
    'aria-label="Snooze one week: {label}">+1 week</button>'
    '<button type="submit" formaction="{act}done/" class="button button-small" aria-label="Done: {label}">Done</button>'
    "{reassign}</form></td></tr>"
)
REASSIGN = (
    '<select name="owner" data-colleagues aria-label="New owner for {label}">'
    '<option value="">Hand to…</option></select>'
    '<button type="submit" formaction="{act}reassign/" class="button button-small button-secondary" '
    'aria-label="Reassign: {label}">Reassign</button>'
)


@dataclass(frozen=True)
class RowContext:
    """What every row of one page shares: URL prefixes (a row appends its ids), the CSRF
    token, where to come back to, and which optional cells it has."""

    task_url: str
    contact_url: str
    csrf: str
    next_url: str
    tomorrow: str
    with_owner: bool
    can_reassign: bool


def _owner_cell(task: Task) -> SafeString:
    owner = task.owner
    return format_html("<td>{}</td>", (owner.get_full_name() or owner.get_username()) if owner else "nobody")


def row(task: Task, page: RowContext) -> SafeString:
    label, act = str(task), f"{page.task_url}{task.pk}/"
    due = localtime(task.due_at)
    extra = format_html(" <strong>(high)</strong>") if task.priority == Task.Priority.HIGH else ""
    if task.note:
        extra = format_html("{}<br><small>{}</small>", extra, Truncator(task.note).chars(120))
    contact = task.contact
    return format_html(
        ROW,
        pk=task.pk,
        iso=due.isoformat(),
        when=dateformat.format(due, "D j M H:i"),
        kind=capfirst(task.get_kind_display()),
        label=label,
        extra=extra,
        contact_url=page.contact_url,
        contact_id=task.contact_id,
        contact=contact.full_name or contact.email,
        owner=_owner_cell(task) if page.with_owner else "",
        act=act,
        csrf=page.csrf,
        next=page.next_url,
        tomorrow=page.tomorrow,
        reassign=format_html(REASSIGN, label=label, act=act) if page.can_reassign else "",
    )


def rows(tasks: list[Task], page: RowContext) -> SafeString:
    # Safe: every row is format_html's output.
    return mark_safe("".join(row(task, page) for task in tasks))
