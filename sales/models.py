from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact, CustomField


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
        # Claimed by a worker, not yet handed to the mail server: re-claimable when the lease runs out.
        SENDING = "sending", "being sent"
        # Handed to the mail server: if the worker dies now, the row becomes unknown, never resent.
        WIRE = "wire", "on the wire"
        SENT = "sent"
        UNKNOWN = "unknown", "unknown (worker died while sending)"
        FAILED = "failed"
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
    reminder_claim = models.CharField(max_length=32, blank=True, editable=False)
    reminder_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "-priority"]
        permissions = [("view_team_tasks", "Can see and reassign the whole team's tasks")]
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


class TaskRule(models.Model):
    """Makes a task for the contact's owner when something happens (see sales/rules.py).

    Activity-driven triggers read ``contacts.Activity`` after ``watermark`` (an activity id);
    the date trigger reads the custom date field, with ``watermark_date`` as the last day done.
    """

    class Trigger(models.TextChoices):
        LINK_CLICKED = "link_clicked", "clicked a link whose address contains a pattern"
        SCORE = "score", "engagement score at or above a threshold"
        CLICKS_IN_WEEK = "clicks_in_week", "clicked tracked links N times in 7 days"
        DATE_COMING = "date_coming", "a date field comes up in N days"
        REPLIED = "replied", "replied by mail"

    name = models.CharField(max_length=200)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    url_pattern = models.CharField(
        max_length=200, blank=True, help_text="Part of the clicked address, e.g. /pricing (link clicked)."
    )
    threshold = models.FloatField(null=True, blank=True, help_text="Engagement score (score trigger).")
    count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Clicks in 7 days (clicks trigger) or days ahead (date trigger)."
    )
    date_field = models.SlugField(
        max_length=64, blank=True, help_text="Key of a custom field of kind date, e.g. renewal (date trigger)."
    )
    task_kind = models.CharField(max_length=10, choices=Task.Kind.choices, default=Task.Kind.FOLLOW_UP)
    task_title = models.CharField(max_length=200, help_text="Title of the task it makes, e.g. Call about pricing.")
    due_in_days = models.PositiveSmallIntegerField(default=0, help_text="0: due at once.")
    enabled = models.BooleanField(default=False, help_text="Check the dry-run count before switching it on.")
    watermark = models.BigIntegerField(null=True, blank=True, editable=False)
    watermark_date = models.DateField(null=True, blank=True, editable=False)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_created = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def rule_key(self) -> str:
        return f"rule:{self.pk}"

    def clean(self) -> None:
        needed = {
            self.Trigger.LINK_CLICKED: ("url_pattern",),
            self.Trigger.SCORE: ("threshold",),
            self.Trigger.CLICKS_IN_WEEK: ("count",),
            self.Trigger.DATE_COMING: ("count", "date_field"),
        }.get(self.trigger, ())
        errors = {name: "Needed by this trigger." for name in needed if getattr(self, name) in (None, "")}
        dated = CustomField.objects.filter(key=self.date_field, kind=CustomField.Kind.DATE)
        if self.trigger == self.Trigger.DATE_COMING and "date_field" not in errors and not dated.exists():
            errors["date_field"] = "No custom field of kind date has this key."
        if errors:
            raise ValidationError(errors)


class Digest(models.Model):
    """The daily digest of one owner for one local date: the unique row is the claim, so a
    digest goes out at most once even when two ticks or a killed worker overlap."""

    class Status(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENDING)
    tasks = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "local_date"], name="digest_once_per_owner_day")]

    def __str__(self) -> str:
        return f"digest for {self.owner_id} on {self.local_date}"


# --- Deals, customer health and grade rules (sales/deals.py, sales/lost.py, sales/grades.py) ---


class Deal(models.Model):
    """One order or deal of a contact. Won deals are the orders that lost-customer detection
    and revenue grades count; the reference (when given) makes imports safe to rerun."""

    class Status(models.TextChoices):
        WON = "won", "won (ordered)"
        OPEN = "open"
        LOST = "lost"
        CANCELLED = "cancelled"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deals")
    date = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code, e.g. EUR, USD, CNY.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WON)
    reference = models.CharField(max_length=100, blank=True, help_text="Order number; unique when given.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-pk"]
        verbose_name = "order"
        permissions = [("import_deal", "Can import orders")]
        indexes = [models.Index(fields=["contact", "status", "date"], name="deal_contact_status_date")]
        constraints = [
            models.UniqueConstraint(fields=["reference"], condition=~Q(reference=""), name="deal_unique_reference")
        ]

    def __str__(self) -> str:
        return self.reference or f"{self.amount} {self.currency} on {self.date:%Y-%m-%d}"


class CustomerHealth(models.Model):
    """A customer's lost-customer state and the engagement baseline it is measured against.

    One row per contact with an order. ``flagged_at`` is when the current flag was raised (the
    alert went out then); the contact is not flagged again until ``recovered_at`` follows it.
    """

    class State(models.TextChoices):
        OK = "ok", "buying"
        DRIFTING = "drifting"
        LOST = "lost"

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, primary_key=True, related_name="health")
    state = models.CharField(max_length=8, choices=State.choices, default=State.OK, db_index=True)
    reason = models.CharField(max_length=200, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    recovered_at = models.DateTimeField(null=True, blank=True)
    baseline_score = models.FloatField(default=0.0, help_text="Engagement score when the baseline was taken.")
    baseline_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "customer health"

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.state}"


class GradePolicy(models.Model):
    """How grades classify themselves (one row, edited on the Grade rules page)."""

    class Method(models.TextChoices):
        REVENUE = "revenue", "ABC by revenue share"
        RULES = "rules", "Rules over profile and engagement fields"

    method = models.CharField(max_length=8, choices=Method.choices, default=Method.REVENUE)
    months = models.PositiveSmallIntegerField(default=12, help_text="Revenue counted over the last N months.")
    a_share = models.PositiveSmallIntegerField(default=80, help_text="A: top customers making this % of revenue.")
    b_share = models.PositiveSmallIntegerField(default=15, help_text="B: the next % of revenue; C is the rest.")
    rules_a = models.JSONField(default=dict, blank=True, help_text="Segment rules for grade A (rules method).")
    rules_b = models.JSONField(default=dict, blank=True, help_text="Segment rules for grade B.")
    rules_c = models.JSONField(default=dict, blank=True, help_text="Segment rules for grade C.")
    nightly = models.BooleanField(default=False, help_text="Apply the rules every night.")
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "grade policies"
        permissions = [("apply_gradepolicy", "Can apply grade rules")]

    def __str__(self) -> str:
        return self.get_method_display()
