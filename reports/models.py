"""Roll-ups of campaign events, written in the transaction that records the events.

Campaigns and contacts are plain ids, never foreign keys: deleting or erasing a contact (or
its messages) must not change a campaign's historical totals, so nothing here cascades.
"""

from __future__ import annotations

from django.db import models


class CampaignHour(models.Model):
    """Events of one kind in one hour of a campaign, human and machine apart.

    ``total`` counts events; ``first_any`` the messages whose first event of this kind fell
    here (their sum is the unique count); ``first_human`` the same for the first human event.
    """

    campaign_id = models.BigIntegerField()
    hour = models.DateTimeField()
    kind = models.CharField(max_length=12)
    is_machine = models.BooleanField()
    total = models.BigIntegerField(default=0)
    first_any = models.BigIntegerField(default=0)
    first_human = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign_id", "kind", "hour", "is_machine"], name="reports_hour_key")
        ]
        # The one permission of the app: who may read the reports (granted in contacts/roles.py).
        permissions = [("view_reports", "Can see campaign, audience and deliverability reports")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind} {self.hour:%Y-%m-%d %H}h: {self.total}"


class CampaignLinkCount(models.Model):
    """Clicks on one link of a campaign (``link_index`` -1: a click whose link is unknown)."""

    campaign_id = models.BigIntegerField()
    link_index = models.IntegerField()
    url = models.TextField(blank=True)
    total = models.BigIntegerField(default=0)
    total_human = models.BigIntegerField(default=0)
    first_any = models.BigIntegerField(default=0)
    first_human = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign_id", "link_index"], name="reports_link_key")]

    def __str__(self) -> str:
        return f"{self.campaign_id} link {self.link_index}: {self.total}"


class CampaignDomainCount(models.Model):
    """Events of one kind for the recipients at one receiving domain (as the message had it)."""

    campaign_id = models.BigIntegerField()
    domain = models.CharField(max_length=253)
    kind = models.CharField(max_length=12)
    total = models.BigIntegerField(default=0)
    first_any = models.BigIntegerField(default=0)
    first_human = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign_id", "domain", "kind"], name="reports_domain_key")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.domain} {self.kind}: {self.total}"


class CampaignVariantCount(models.Model):
    """Events of one kind for the recipients of one A/B arm (variant 0 is the campaign as composed)."""

    campaign_id = models.BigIntegerField()
    variant = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12)
    total = models.BigIntegerField(default=0)
    first_any = models.BigIntegerField(default=0)
    first_human = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign_id", "variant", "kind"], name="reports_variant_key")]

    def __str__(self) -> str:
        return f"{self.campaign_id} variant {self.variant} {self.kind}: {self.total}"


class CampaignDeviceCount(models.Model):
    """Human opens and clicks per device/client family, from the user agent."""

    campaign_id = models.BigIntegerField()
    family = models.CharField(max_length=100)
    kind = models.CharField(max_length=12)
    total = models.BigIntegerField(default=0)
    first_human = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign_id", "family", "kind"], name="reports_device_key")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.family} {self.kind}: {self.total}"


class MessageSeen(models.Model):
    """Which kinds of event a message (or, without one, a contact: negative id) already had, one
    bit per kind and one per kind by a person (reports.rollup.BITS): what makes unique counts
    exact and a replayed event harmless. ``previous`` is the value before the last upsert, which
    the upsert returns, so one statement both records and tells what was new."""

    campaign_id = models.BigIntegerField()
    subject = models.BigIntegerField()
    flags = models.BigIntegerField(default=0)
    previous = models.BigIntegerField(default=0)
    # Links clicked, one bit per link index below reports.rollup.LINK_BITS and one per index by a
    # person; ``previous_links`` is their value before the last upsert, as ``previous`` is.
    links = models.BigIntegerField(default=0)
    previous_links = models.BigIntegerField(default=0)
    # The message's receiving domain and A/B arm, kept so a batch's events need no message
    # lookup; null on rows claimed before they were kept ("" and null for a contact).
    domain = models.CharField(max_length=253, null=True, blank=True)  # noqa: DJ001 - null: not kept yet
    variant = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign_id", "subject"], name="reports_message_seen_key")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.subject}: {self.flags:b}"


class FirstSeen(models.Model):
    """That a message (or, without one, a contact: negative id) already had a click on a link
    (``l3``, or ``lh3`` by a person): links are too many for MessageSeen's bits."""

    campaign_id = models.BigIntegerField()
    subject = models.BigIntegerField()
    key = models.CharField(max_length=24)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign_id", "subject", "key"], name="reports_seen_key")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.subject} {self.key}"


class Watermark(models.Model):
    """How far the history feed (sends, bounces, complaints, unsubscribes) has rolled up: every
    Activity id up to ``last_id``, and beyond it up to ``read_to`` every id but the ``holes``:
    [first, last, xid] ranges no committed row held when read, which a transaction older than
    PostgreSQL transaction id ``xid`` may still fill (reports.feeds)."""

    name = models.CharField(max_length=40, unique=True)
    last_id = models.BigIntegerField(default=0)
    read_to = models.BigIntegerField(default=0)
    holes = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_id}"


class GrowthHour(models.Model):
    """Subscriptions started, confirmed and ended in one UTC hour, over every list: what the list
    growth view reads for the hours before the ``growth`` watermark (reports.growth_rollup)
    instead of scanning every subscription. Whole hours add up to the days, weeks and months of
    any time zone a whole number of hours from UTC."""

    hour = models.DateTimeField(unique=True)
    new = models.BigIntegerField(default=0)
    confirmed = models.BigIntegerField(default=0)
    unsubscribed = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h: +{self.new} -{self.unsubscribed}"
