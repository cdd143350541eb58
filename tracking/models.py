"""What came back by mail: one row per returned message we classified."""

from django.db import models
from django.utils import timezone

from contacts.models import Contact


class ReturnedMail(models.Model):
    """A bounce, complaint or auto-reply as classified, with the reason behind a bounce.

    Contacts' histories record what changed them; this records every returned message,
    including the complaints we refused because nothing in them proved they were about
    mail we sent, and feeds the per-reason breakdown of the reports."""

    class Kind(models.TextChoices):
        HARD = "hard", "hard bounce"
        SOFT = "soft", "soft bounce"
        COMPLAINT = "complaint"
        AUTO_REPLY = "auto_reply", "auto-reply"
        UNSUBSCRIBE = "unsubscribe"
        UNKNOWN = "unknown"

    class Reason(models.TextChoices):
        MAILBOX_UNKNOWN = "mailbox_unknown", "mailbox unknown"
        MAILBOX_FULL = "mailbox_full", "mailbox full"
        SPAM = "spam", "rejected as spam"
        HOST_UNKNOWN = "host_unknown", "host unknown"
        POLICY = "policy"
        RATE_LIMITED = "rate_limited", "rate limited"
        EXPIRED = "expired"
        OTHER = "other"

    received_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=100, help_text="What read it: imap, process_bounces, esp:<name>...")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    reason = models.CharField(max_length=16, choices=Reason.choices, blank=True)
    status = models.CharField(max_length=16, blank=True, help_text="RFC 3463 status, e.g. 5.1.1.")
    recipients = models.JSONField(default=list, blank=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    campaign_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)
    accepted = models.BooleanField(default=True, help_text="False: recorded and ignored (an unverified complaint).")
    note = models.CharField(max_length=200, blank=True)
    mail_id = models.CharField(max_length=250, blank=True, help_text="The returned message's Message-ID.")

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["campaign_id", "kind"], name="returnedmail_campaign_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {', '.join(self.recipients)}".strip()
