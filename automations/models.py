"""Journeys: a versioned tree of steps, one enrolment row per contact passing through,
and one narrow step-run row per step each enrolment executed (the exactly-once record)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign
from contacts.models import Contact


class Journey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        LIVE = "live"
        PAUSED = "paused"

    class Reentry(models.TextChoices):
        ONCE = "once", "once ever"
        EVERY = "every", "every time the trigger fires"
        PERIOD = "period", "at most once per period"

    name = models.CharField(max_length=200)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.DRAFT, db_index=True)
    reentry = models.CharField("re-entry", max_length=6, choices=Reentry.choices, default=Reentry.ONCE)
    reentry_days = models.PositiveIntegerField(
        "re-entry period (days)", default=30, help_text="With 'at most once per period'."
    )
    # The editable definition: {"triggers": [...], "steps": [...]} (see automations/steps.py).
    definition = models.JSONField(default=dict, blank=True)
    current_version = models.ForeignKey(
        "JourneyVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    # Last contacts.Activity id the event triggers have read.
    watermark = models.BigIntegerField(default=0, editable=False)
    # When the segment, date and inactivity triggers last scanned the contacts (claimed by an UPDATE).
    scheduled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class JourneyVersion(models.Model):
    """An immutable copy of the definition; contacts keep the version they entered with."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["journey", "number"]
        constraints = [models.UniqueConstraint(fields=["journey", "number"], name="unique_journey_version")]

    def __str__(self) -> str:
        return f"{self.journey} v{self.number}"


class StepCampaign(models.Model):
    """The campaign an email step of one version sends through (the send pipeline delivers its Messages)."""

    version = models.ForeignKey(JourneyVersion, on_delete=models.CASCADE, related_name="campaigns")
    key = models.CharField(max_length=32)
    campaign = models.OneToOneField(Campaign, on_delete=models.PROTECT, related_name="journey_step")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="unique_step_campaign")]

    def __str__(self) -> str:
        return f"{self.version} {self.key}"


class Enrolment(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting"
        RUNNING = "running"
        DONE = "done"
        EXITED = "exited"
        FAILED = "failed"

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrolments")
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="enrolments")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="enrolments")
    # '' for once-ever journeys, the period, year or triggering event otherwise.
    occurrence = models.CharField(max_length=32, blank=True, default="")
    step = models.CharField(max_length=32, help_text="Key of the step to execute next (or the last one).")
    due_at = models.DateTimeField()
    state = models.CharField(max_length=7, choices=State.choices, default=State.WAITING)
    lease_until = models.DateTimeField(null=True, blank=True)
    entered_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "contact", "occurrence"], name="unique_enrolment_occurrence")
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="waiting"), name="enrolment_due"),
            models.Index(fields=["lease_until"], condition=Q(state="running"), name="enrolment_lease"),
            models.Index(fields=["version", "step", "state"], name="enrolment_step_state"),
            models.Index(fields=["contact", "state"], name="enrolment_contact_state"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.journey_id} at {self.step} ({self.state})"


class StepRun(models.Model):
    """One step executed for one enrolment. The composite primary key is the exactly-once
    guard and the only index, which keeps a row near 60 bytes on PostgreSQL."""

    class Outcome(models.IntegerChoices):
        DONE = 0
        YES = 1
        NO = 2
        SKIPPED = 3, "skipped (preferences, cap or not sendable)"
        LEFT = 4, "left (unsubscribed or suppressed)"
        GOAL = 5, "goal reached"
        FAILED = 6

    pk = models.CompositePrimaryKey("enrolment_id", "step")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="runs", db_index=False)
    step = models.CharField(max_length=32)
    outcome = models.PositiveSmallIntegerField(choices=Outcome.choices, default=Outcome.DONE)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.enrolment_id}/{self.step}: {self.get_outcome_display()}"


class StepTotal(models.Model):
    """Step runs of finished enrolments, counted per step and outcome once their rows are purged
    (JOURNEY_STEP_RUN_RETENTION_DAYS), so the diagram's counts outlive the rows."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="step_totals")
    step = models.CharField(max_length=32)
    outcome = models.PositiveSmallIntegerField(choices=StepRun.Outcome.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "step", "outcome"], name="unique_step_total"),
        ]

    def __str__(self) -> str:
        return f"{self.journey_id}/{self.step}/{self.outcome}: {self.count}"
