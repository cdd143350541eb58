"""The contact base: one profile per person, lists, suppressions and the history of everything."""

from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone
from taggit.managers import TaggableManager
from taggit.models import TaggedItemBase


class ContactQuerySet(models.QuerySet):
    def suppressed_q(self) -> Q:
        """Contacts whose address or domain is on the suppression list."""
        return Q(Exists(Suppression.objects.filter(email=OuterRef("email")))) | Q(
            Exists(Suppression.objects.filter(domain=OuterRef("email_domain")))
        )

    def sendable(self, *, include_retired: bool = False) -> "ContactQuerySet":
        """Contacts we may mail right now: subscribed, not suppressed, not paused, not over
        their chosen frequency, and not retired by the sunset policy (unless asked for,
        as a final re-engagement campaign does)."""
        now = timezone.now()
        over_frequency = Q(frequency=Contact.Frequency.WEEKLY, last_sent_at__gt=now - timedelta(days=7)) | Q(
            frequency=Contact.Frequency.MONTHLY, last_sent_at__gt=now - timedelta(days=30)
        )
        contacts = (
            self.filter(status=Contact.Status.SUBSCRIBED)
            .exclude(standing=Contact.Standing.SUPPRESSED)
            .exclude(paused_until__gt=now)
            .exclude(over_frequency)
            .exclude(self.suppressed_q())
        )
        return contacts if include_retired else contacts.filter(sunset_at__isnull=True)

    def in_segment(self, segment: "Segment") -> "ContactQuerySet":
        return self.filter(segment.to_q())


class Contact(models.Model):
    # The profile fields' one home. Every list of them is derived from these three: import
    # (mapping targets, auto-mapped by name), export, segment rules, the contact page and its
    # edit form, merge fields, the preference centre. A new profile field: add it below as a
    # model field and here, and it appears everywhere it should.
    # The free-text profile, in display order.
    PROFILE_FIELDS = (
        "first_name",
        "last_name",
        "company",
        "job_title",
        "phone",
        "industry",
        "region",
        "city",
        "country",
        "language",
        "time_zone",
        "customer_type",
    )
    # Not offered as merge fields: nothing a message should print.
    UNMERGED_FIELDS = frozenset({"phone", "time_zone"})
    # What a contact may change about themselves in the preference centre.
    SELF_SERVICE_FIELDS = ("first_name", "last_name", "company", "job_title", "phone", "city", "country")

    class Status(models.TextChoices):
        SUBSCRIBED = "subscribed"
        UNSUBSCRIBED = "unsubscribed"
        BOUNCED = "bounced"
        COMPLAINED = "complained"
        CLEANED = "cleaned"

    class Grade(models.TextChoices):
        A = "A", "A (high value)"
        B = "B", "B"
        C = "C", "C (low value)"

    class Source(models.TextChoices):
        IMPORT = "import"
        FORM = "form"
        API = "api"
        MANUAL = "manual"
        EVENT = "event"

    class Standing(models.TextChoices):
        ENGAGED = "engaged"
        ACTIVE = "active"
        AT_RISK = "at_risk", "at risk"
        INACTIVE = "inactive"
        SUPPRESSED = "suppressed"

    class Verification(models.TextChoices):
        UNCHECKED = "unchecked"
        VERIFIED = "verified"
        # The domain check could not finish (timeout, resolver down): kept, re-checked later.
        UNVERIFIED = "unverified"
        INVALID = "invalid"

    class Frequency(models.TextChoices):
        # A cap counted from the last send (ContactQuerySet.sendable), not a digest: the one
        # wording the preference centre and the admin both show.
        EVERY = "every", "Every campaign"
        WEEKLY = "weekly", "At most one email a week"
        MONTHLY = "monthly", "At most one email a month"

    email = models.CharField(max_length=254, unique=True, help_text="Normalised; unique regardless of case.")
    email_domain = models.CharField(max_length=253, db_index=True, editable=False)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    region = models.CharField("region / province", max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=16, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, help_text="IANA name, e.g. Asia/Shanghai.")
    customer_type = models.CharField(max_length=100, blank=True)
    # Not indexed: an index on four values never beats a scan, and each one costs every write.
    grade = models.CharField(max_length=1, choices=Grade.choices, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
        help_text="The salesperson responsible for this contact.",
    )
    tags = TaggableManager(through="contacts.TaggedContact", blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUBSCRIBED)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    consent_at = models.DateTimeField(null=True, blank=True)
    consent_method = models.CharField(max_length=100, blank=True, help_text="import, signup form, API, ...")
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_form = models.CharField(max_length=200, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True, help_text="Double opt-in confirmation.")

    verification = models.CharField(max_length=10, choices=Verification.choices, default=Verification.UNCHECKED)
    verification_reason = models.CharField(max_length=100, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    engagement_score = models.FloatField(default=0.0, db_index=True)
    standing = models.CharField(max_length=10, choices=Standing.choices, default=Standing.ACTIVE)
    last_engaged_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    last_clicked_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.EVERY)
    paused_until = models.DateTimeField(null=True, blank=True)
    # Set by the sunset policy: inactive too long, mailed only by a re-engagement campaign.
    sunset_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["email"]
        permissions = [
            ("export_contact", "Can export contacts"),
            ("import_contact", "Can import contacts"),
            # Without it (sales staff), change_contact covers only owned contacts' profile fields and notes.
            ("change_any_contact", "Can edit any contact and all of its fields"),
        ]
        constraints = [
            # Addresses are stored normalised (lower case); this also stops a mixed-case twin slipping in.
            models.UniqueConstraint(Lower("email"), name="unique_contact_email_ci"),
        ]
        # Not db_index=True, which on PostgreSQL adds a LIKE-pattern twin to each text column's index.
        indexes = [
            models.Index(fields=["industry"], name="contact_industry"),
            models.Index(fields=["region"], name="contact_region"),
            models.Index(fields=["status"], name="contact_status"),
            models.Index(fields=["standing"], name="contact_standing"),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        self.email_domain = self.email.rpartition("@")[2].lower()
        super().save(*args, **kwargs)

    @classmethod
    def merge_fields(cls) -> tuple[str, ...]:
        """The profile fields templates may print as ``{{ contact.<name> }}``."""
        return tuple(name for name in cls.PROFILE_FIELDS if name not in cls.UNMERGED_FIELDS)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class TaggedContact(TaggedItemBase):
    content_object = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="tagged_items")


class CustomField(models.Model):
    """Definition of a free profile field, so values in Contact.custom_fields are typed."""

    class Kind(models.TextChoices):
        TEXT = "text"
        NUMBER = "number"
        DATE = "date"
        BOOLEAN = "boolean"
        CHOICE = "choice"

    key = models.SlugField(max_length=64, unique=True, help_text="Name used in merge fields: contact.custom.<key>.")
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class MailingList(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    double_opt_in = models.BooleanField(default=False)
    is_public = models.BooleanField(default=True, help_text="Shown in the preference centre.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "awaiting confirmation"
        SUBSCRIBED = "subscribed"
        UNSUBSCRIBED = "unsubscribed"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="subscriptions")
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="subscriptions")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUBSCRIBED)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "mailing_list"], name="unique_subscription")]
        indexes = [models.Index(fields=["mailing_list", "status"], name="subscription_list_status")]

    def __str__(self) -> str:
        return f"{self.contact} in {self.mailing_list}"


class Suppression(models.Model):
    """An address or a whole domain that must never be mailed. Wins over everything."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "hard bounce"
        COMPLAINT = "complaint"
        MANUAL = "manual"
        INVALID = "invalid", "invalid address"
        LEGAL = "legal", "legal request"

    email = models.CharField(max_length=254, blank=True, default="")
    domain = models.CharField(max_length=253, blank=True, default="")
    # An erased person's address survives only as this keyed hash (contacts/erased.py), so
    # it can be recognised when it comes back without being stored.
    email_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    reason = models.CharField(max_length=12, choices=Reason.choices, default=Reason.MANUAL)
    source = models.CharField(max_length=100, blank=True, help_text="What added it: import, bounce, webhook, admin...")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(email="") & ~Q(domain="") & Q(email_hash=""))
                | (~Q(email="") & Q(domain="") & Q(email_hash=""))
                | (Q(email="") & Q(domain="") & ~Q(email_hash="")),
                name="suppression_one_target",
            ),
            models.UniqueConstraint(fields=["email"], condition=~Q(email=""), name="unique_suppressed_email"),
            models.UniqueConstraint(fields=["domain"], condition=~Q(domain=""), name="unique_suppressed_domain"),
            models.UniqueConstraint(fields=["email_hash"], condition=~Q(email_hash=""), name="unique_suppressed_hash"),
        ]

    def __str__(self) -> str:
        if self.email_hash:
            return "an erased address"
        return self.email or f"@{self.domain}"


class Segment(models.Model):
    """A saved set of rules (see contacts/segments.py for the rule language)."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    rules = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # The model hands its rules to the compiler, contacts.segments.compile_rules, which imports
    # these models: ContactsConfig.ready() sets it, so neither module imports the other's.
    compile_rules: ClassVar[Callable[[dict], Q]]

    def to_q(self) -> Q:
        """The contacts matching this segment's rules, as one filter (see contacts/segments.py)."""
        return type(self).compile_rules(self.rules)


# Defined in their own modules to keep this one short; imported here so Django registers them
# with the others, and so ``from contacts.models import Activity`` keeps working.
from contacts.activity import Activity  # noqa: E402, F401
from contacts.import_job import ImportJob  # noqa: E402, F401
from contacts.tallies import ActivityTally  # noqa: E402, F401
