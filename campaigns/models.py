"""Campaigns, their frozen link tables and one Message row per recipient."""

import operator
from functools import reduce

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from wagtail import hooks
from wagtail.fields import StreamField

from contacts.models import Contact, MailingList, Segment
from templates_mail.blocks import CampaignBodyBlock
from templates_mail.models import Layout

# A name goes into the From and List-Id headers: a line break there would inject headers.
one_line = RegexValidator(r"^[^\x00-\x1f\x7f]*\Z", "Line breaks and control characters are not allowed here.")


class SenderIdentity(models.Model):
    """A From address marketers may choose once its domain passes the DNS checks (campaigns.sender_checks)."""

    name = models.CharField(max_length=200, validators=[one_line])
    email = models.EmailField(unique=True)
    reply_to = models.EmailField(blank=True)
    # Set only by the DNS checks: every check passed at ``checked_at``.
    verified = models.BooleanField(default=False)
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last result of each check, as sender_checks.Check.as_json() writes it.
    dns_checks = models.JSONField(default=list, blank=True, editable=False)
    postal_address = models.TextField(blank=True, help_text="Printed in the footer; falls back to POSTAL_ADDRESS.")

    class Meta:
        verbose_name_plural = "sender identities"
        ordering = ["email"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class CampaignQuerySet(models.QuerySet):
    """One-row state changes, each a conditional UPDATE on the state it leaves: whoever loses
    the race changes nothing. The lifecycle (campaigns.services) and the pipeline share them."""

    def move(self, pk: int, sources: list[str], target: str, **fields) -> bool:
        """``sources`` -> ``target`` (with ``fields``); True when this call made the change."""
        return bool(self.filter(pk=pk, status__in=sources).update(status=target, **fields))

    def listed(self) -> "CampaignQuerySet":
        """Campaigns people make and send: without those an app above sends on its own and shows on
        its own pages (a journey's step campaigns), which it names as a ``Q`` through the
        ``rapport_unlisted_campaigns`` hook, since campaigns may not import it."""
        hidden = [hook() for hook in hooks.get_hooks("rapport_unlisted_campaigns")]
        return self.exclude(reduce(operator.or_, hidden)) if hidden else self

    def is_sending(self, pk: int) -> bool:
        return self.filter(pk=pk, status=Campaign.Status.SENDING).exists()

    def stop(self, pk: int, reason: str) -> bool:
        """Pause a sending campaign on the pipeline's behalf, with the reason the sending page and
        ``send_campaign --wait`` show; a campaign no longer sending is left as it is."""
        return self.move(pk, [Campaign.Status.SENDING], Campaign.Status.PAUSED, status_reason=reason)

    def fail(self, pk: int, reason: str) -> bool:
        """A campaign that cannot go on (it no longer renders) stops as failed, keeping what was sent."""
        return self.move(
            pk, [Campaign.Status.SENDING], Campaign.Status.FAILED, status_reason=reason, finished_at=timezone.now()
        )

    def finish(self, pk: int) -> bool:
        """sending -> sent; the caller has checked that no message is left to send."""
        return self.move(pk, [Campaign.Status.SENDING], Campaign.Status.SENT, finished_at=timezone.now())


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        SENDING = "sending"
        PAUSED = "paused"
        SENT = "sent"
        CANCELLED = "cancelled"
        FAILED = "failed"

    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=300, blank=True, validators=[one_line])
    subject_b = models.CharField(
        "subject B",
        max_length=300,
        blank=True,
        validators=[one_line],
        help_text="Optional A/B test variant of the subject.",
    )
    preheader = models.CharField(max_length=300, blank=True)
    sender = models.ForeignKey(SenderIdentity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reply_to = models.EmailField(blank=True)
    layout = models.ForeignKey(Layout, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns")
    body = StreamField(CampaignBodyBlock(), blank=True, use_json_field=True)
    text_body = models.TextField(blank=True, help_text="Plain-text part; generated from the HTML when empty.")
    utm_enabled = models.BooleanField("add UTM parameters to links", default=False)

    include_lists = models.ManyToManyField(MailingList, blank=True, related_name="+")
    include_segments = models.ManyToManyField(Segment, blank=True, related_name="+")
    exclude_lists = models.ManyToManyField(MailingList, blank=True, related_name="+")
    exclude_segments = models.ManyToManyField(Segment, blank=True, related_name="+")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    status_reason = models.TextField(blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A final re-engagement campaign may still reach contacts the sunset policy retired.
    is_reengagement = models.BooleanField(default=False)

    # A/B test (sending): variants go to a test share; the winner goes to the rest after ab_wait.
    ab_test_share = models.PositiveSmallIntegerField(
        "A/B test share (%)", default=0, help_text="0 = no A/B test; else the percentage that receives the variants."
    )
    ab_metric = models.CharField(
        "A/B winner by", max_length=6, choices=[("opens", "human opens"), ("clicks", "human clicks")], default="opens"
    )
    ab_wait = models.DurationField("A/B test duration", null=True, blank=True)
    ab_winner = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    ab_decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    send_at_local_time = models.TimeField(
        "deliver at local time",
        null=True,
        blank=True,
        help_text="Deliver at this time in each contact's own time zone, within 24 hours of the send time.",
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("send_campaign", "Can schedule and send campaigns")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_frozen(self) -> bool:
        """Content of a campaign that started sending can no longer change."""
        return self.status not in {self.Status.DRAFT, self.Status.SCHEDULED}


class CampaignLink(models.Model):
    """The frozen link table: click tokens carry an index into it, never a URL."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="links")
    index = models.PositiveIntegerField()
    url = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "index"], name="unique_campaign_link")]

    def __str__(self) -> str:
        return self.url


class CampaignVariant(models.Model):
    """One arm of an A/B test; blank fields fall back to the campaign's own."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    index = models.PositiveSmallIntegerField(help_text="0-3; variant 0 is the campaign as composed.")
    subject = models.CharField(max_length=300, blank=True, validators=[one_line])
    from_name = models.CharField(max_length=200, blank=True, validators=[one_line])
    body = StreamField(CampaignBodyBlock(), blank=True, use_json_field=True)

    class Meta:
        ordering = ["campaign", "index"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "index"], name="unique_campaign_variant"),
            models.CheckConstraint(condition=models.Q(index__lte=3), name="campaign_variant_index_max_3"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} variant {self.index}"


class Message(models.Model):
    """One recipient of one campaign; its status is the single source of delivery progress."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        DEFERRED = "deferred"
        FAILED = "failed"
        # On the wire when a worker died: never resent, reported as such.
        UNKNOWN = "unknown"
        SKIPPED = "skipped"
        CANCELLED = "cancelled"
        # Kept back for the winner of an A/B test.
        HELD = "held"

        @classmethod
        def waiting(cls) -> list[str]:
            """Rows a worker may claim once they are due."""
            return [cls.QUEUED, cls.DEFERRED]

        @classmethod
        def unfinished(cls) -> list[str]:
            """Rows whose fate is still open: waiting, or held by a worker."""
            return [cls.QUEUED, cls.SENDING, cls.DEFERRED]

        @classmethod
        def cancellable(cls) -> list[str]:
            """Rows no worker holds and that were never sent: a cancel stops them."""
            return [cls.QUEUED, cls.DEFERRED, cls.HELD]

    # The (campaign, contact) unique index serves campaign lookups; one index less to fill when freezing.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages", db_index=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="messages")
    email = models.CharField(max_length=254)
    domain = models.CharField(max_length=253)
    variant = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Work unit handed to one send_batch task, numbered when the audience is frozen.
    batch = models.PositiveIntegerField(default=0)
    # Random id of the claim that holds this row while status is "sending".
    claim = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "contact"], name="unique_campaign_recipient")]
        indexes = [
            models.Index(fields=["campaign", "batch", "status"], name="message_campaign_batch"),
            # Also serves the progress bar's "sent in the last minute".
            models.Index(fields=["campaign", "status", "sent_at"], name="message_campaign_status"),
            models.Index(fields=["status", "lease_until"], name="message_status_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} -> {self.email} ({self.status})"
