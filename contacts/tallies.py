"""Counts of history events purged by the retention policy (privacy.retention)."""

from django.db import models


class ActivityTally(models.Model):
    """How many history events of one kind (for one campaign, human or machine) a contact had
    before they were purged by the retention policy (privacy.retention), so counts on the
    contact page and campaign totals read from history do not change when old events go.
    ``campaign_id`` 0 means none."""

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False)
    # One of Activity.Kind, copied from the purged rows.
    kind = models.CharField(max_length=12)
    campaign_id = models.BigIntegerField(default=0)
    is_machine = models.BooleanField(default=False)
    events = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "kind", "campaign_id", "is_machine"], name="activitytally_one_per_group"
            )
        ]
        indexes = [models.Index(fields=["campaign_id", "kind"], name="activitytally_campaign_kind")]

    def __str__(self) -> str:
        return f"{self.events} {self.kind} of {self.contact_id}"
