from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact


class TaskQuerySet(models.QuerySet):
    def open(self) -> "TaskQuerySet":
        return self.filter(done_at__isnull=True)


class Task(models.Model):
    """Something a staff member has to do about one contact, by a due time.

    Made by a person, by a rule (at most one open task per rule and contact, which the
    partial unique constraint enforces), or by an automation. The reminder is claimed by a
    state change before it is sent, so a worker killed mid-send never sends it twice.
    """

    class Kind(models.TextChoices):
        CALL = "call"
        EMAIL = "email"
        MEETING = "meeting"
        FOLLOW_UP = "follow_up", "follow-up"

    class Priority(models.IntegerChoices):
        LOW = 0
        NORMAL = 1
        HIGH = 2

    class Origin(models.TextChoices):
        PERSON = "person"
        RULE = "rule"
        AUTOMATION = "automation"

    class Reminder(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending", "being sent"
        SENT = "sent"
        NONE = "none", "no reminder"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sales_tasks"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FOLLOW_UP)
    title = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    due_at = models.DateTimeField()
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    done_at = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.PERSON)
    rule_key = models.CharField(
        max_length=100, blank=True, help_text="The rule or alert that made this task; empty for a person's own."
    )
    reminder = models.CharField(max_length=8, choices=Reminder.choices, default=Reminder.PENDING)
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "-priority"]
        indexes = [
            models.Index(fields=["owner", "done_at", "due_at"], name="task_owner_open_due"),
            models.Index(fields=["reminder", "due_at"], name="task_reminder_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "rule_key"],
                condition=Q(done_at__isnull=True) & ~Q(rule_key=""),
                name="task_one_open_per_rule",
            )
        ]

    def __str__(self) -> str:
        return self.title or f"{self.get_kind_display()} {self.contact}"
