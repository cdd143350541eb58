"""Public signup forms, the signups awaiting confirmation, and the consents they produced."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable

from contacts.models import Contact, MailingList

PROFILE_FIELD_CHOICES = [(name, name.replace("_", " ").capitalize()) for name in Contact.PROFILE_FIELDS]
# Only a marketer sets a redirect, and only to a web page: never javascript:, data: or a relative path.
http_url = URLValidator(schemes=["http", "https"])


def _random_nonce() -> int:
    return secrets.randbits(31)


class SignupForm(ClusterableModel):
    """A form served at /f/<slug>/, embeddable on other sites, and answering JSON."""

    name = models.CharField(max_length=200, help_text="Shown to visitors as the page's heading.")
    slug = models.SlugField(max_length=100, unique=True, help_text="The form's address: /f/<slug>/.")
    introduction = models.TextField(blank=True, help_text="A sentence or two above the fields.")
    visitor_chooses_lists = models.BooleanField(
        default=False,
        help_text="Let visitors tick which of this form's public lists they join; otherwise they join all of them.",
    )
    profile_fields = models.JSONField(default=list, blank=True, help_text="Profile fields asked for, besides email.")
    required_fields = models.JSONField(default=list, blank=True, help_text="Which of the asked fields are required.")
    consent_text = models.TextField(
        help_text="What visitors agree to. Each change makes a new version; every consent records the version shown."
    )
    consent_version = models.PositiveIntegerField(default=1, editable=False)
    thank_you_text = models.TextField(
        blank=True, default="Thank you. Please check your inbox to confirm your subscription."
    )
    redirect_url = models.URLField(
        blank=True,
        validators=[http_url],
        help_text="Send visitors to this page after signing up instead of showing the thank-you text.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "signup form"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = set(self.profile_fields) - set(Contact.PROFILE_FIELDS)
        if unknown:
            raise ValidationError({"profile_fields": f"Unknown profile fields: {', '.join(sorted(unknown))}"})
        self.required_fields = [name for name in self.required_fields if name in self.profile_fields]

    def save(self, *args, **kwargs) -> None:
        """A changed consent text is a new version; the old text stays on record."""
        if self.pk:
            previous = SignupForm.objects.filter(pk=self.pk).values_list("consent_text", flat=True).first()
            if previous is not None and previous != self.consent_text:
                self.consent_version += 1
        super().save(*args, **kwargs)
        ConsentText.objects.get_or_create(form=self, version=self.consent_version, defaults={"text": self.consent_text})


class SignupFormList(Orderable):
    """A list a form subscribes to, and whether joining it takes a confirmed address."""

    form = ParentalKey(SignupForm, on_delete=models.CASCADE, related_name="form_lists")
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="+")
    double_opt_in = models.BooleanField(default=True, help_text="Subscribe only after the address confirms.")

    class Meta(Orderable.Meta):
        constraints = [models.UniqueConstraint(fields=["form", "mailing_list"], name="unique_signup_form_list")]

    def __str__(self) -> str:
        return f"{self.form} → {self.mailing_list}"


class ConsentText(models.Model):
    """Every version of a form's consent text, so a consent names exactly what was shown."""

    form = models.ForeignKey(SignupForm, on_delete=models.CASCADE, related_name="consent_texts")
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["form", "version"], name="unique_consent_version")]

    def __str__(self) -> str:
        return f"{self.form} consent v{self.version}"


class PendingSignup(models.Model):
    """A signup awaiting its confirmation. The address is not a contact until it confirms;
    the row is purged SIGNUP_PENDING_DAYS after it was made."""

    class State(models.TextChoices):
        PENDING = "pending", "waiting to send"
        SENDING = "sending"
        SENT = "sent", "confirmation sent"
        HELD = "held", "not sent: hourly budget spent"
        FAILED = "failed", "sending failed"
        CONFIRMED = "confirmed"

    form = models.ForeignKey(SignupForm, on_delete=models.CASCADE, related_name="pending")
    email = models.CharField(max_length=254)
    profile = models.JSONField(default=dict, blank=True)
    list_ids = models.JSONField(default=list)
    consent_version = models.PositiveIntegerField()
    ip_hash = models.CharField(max_length=64)
    # Part of the confirmation token, so a purged row's token never confirms a later row with its id.
    nonce = models.PositiveIntegerField(default=_random_nonce)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["email", "state"], name="pending_signup_email_state")]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_state_display()})"


class Consent(models.Model):
    """The record of a confirmed signup: when, from which form and consent version, from
    which network (a salted hash, never the address)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="signup_consents")
    form = models.ForeignKey(SignupForm, null=True, on_delete=models.SET_NULL, related_name="consents")
    form_slug = models.CharField(max_length=100)
    consent_version = models.PositiveIntegerField()
    list_ids = models.JSONField(default=list)
    double_opt_in = models.BooleanField()
    ip_hash = models.CharField(max_length=64)
    signed_up_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-confirmed_at"]

    def __str__(self) -> str:
        return f"{self.form_slug} v{self.consent_version} at {self.confirmed_at:%Y-%m-%d %H:%M}"


class WelcomeEmail(models.Model):
    """Sent through the transactional lane when a signup to this list is confirmed."""

    mailing_list = models.OneToOneField(MailingList, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=300)
    # Marketer-written only: nothing a visitor typed goes into it.
    body = models.TextField(help_text="Plain text.")

    class Meta:
        verbose_name = "welcome email"

    def __str__(self) -> str:
        return f"Welcome to {self.mailing_list}"
