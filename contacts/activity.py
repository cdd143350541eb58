"""The history: one row per thing that happened to a contact."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Activity(models.Model):
    """One event in a contact's history. Every app writes here; the sales view reads here.

    Campaign and message are plain ids, not foreign keys, because contacts sits below
    campaigns in the dependency order and history must outlive deleted campaigns.
    """

    class Kind(models.TextChoices):
        SENT = "sent"
        DELIVERED = "delivered"
        DEFERRED = "deferred"
        FAILED = "failed"
        OPENED = "opened"
        CLICKED = "clicked"
        BOUNCED_HARD = "bounced_hard", "hard bounce"
        BOUNCED_SOFT = "bounced_soft", "soft bounce"
        COMPLAINED = "complained"
        UNSUBSCRIBED = "unsubscribed"
        SUBSCRIBED = "subscribed"
        CONFIRMED = "confirmed"
        PREFERENCES = "preferences", "preferences changed"
        PROFILE = "profile", "profile changed"
        STATUS = "status", "status changed"
        IMPORTED = "imported"
        NOTE = "note"
        # Written by the apps above contacts (sales, automations, signups, privacy).
        GRADE = "grade", "grade changed"
        STANDING = "standing", "standing changed"
        OWNER = "owner", "owner changed"
        TAGS = "tags", "tags changed"
        TASK = "task"
        DEAL = "deal", "order"
        ALERT = "alert", "customer alert"
        JOURNEY = "journey"
        ANSWERED = "answered", "survey answered"
        EXPORTED = "exported", "data exported"
        # Written by tracking: the contact's own answer reached the inbound mailbox.
        REPLIED = "replied", "replied by mail"

    # Indexes are few on purpose: every tracked event inserts a row. activity_contact_latest
    # serves lookups by contact, so the foreign key needs no index of its own.
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="activities", db_index=False)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)
    link_url = models.TextField(blank=True)
    # Machine opens (privacy proxies) and scanner clicks: counted in totals, not in standing.
    is_machine = models.BooleanField(default=False)
    details = models.JSONField(default=dict, blank=True)
    # ESP or buffer event id, for idempotent ingestion (unique through a constraint, which
    # spares PostgreSQL the extra pattern-matching index a unique CharField gets).
    event_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULLs never collide
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["contact", "-occurred_at"], name="activity_contact_latest"),
            models.Index(fields=["kind", "occurred_at"], name="activity_kind_since"),
            models.Index(fields=["campaign_id", "kind"], name="activity_campaign_kind"),
            models.Index(fields=["created_by"], condition=Q(created_by__isnull=False), name="activity_note_author"),
        ]
        constraints = [models.UniqueConstraint(fields=["event_id"], name="activity_unique_event_id")]

    def __str__(self) -> str:
        return f"{self.kind} {self.contact_id} at {self.occurred_at:%Y-%m-%d %H:%M}"
