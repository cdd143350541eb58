"""Standing changes are history events with from/to, written set-based by the nightly
recompute and by the event drain; a contact whose standing stays put gets none."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts import engagement
from contacts.models import Activity, Contact
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

Standing = Contact.Standing


def standing_events() -> list[tuple[int, dict]]:
    return list(Activity.objects.filter(kind=Activity.Kind.STANDING).order_by("pk").values_list("contact", "details"))


def test_the_recompute_writes_one_event_per_contact_it_moves_and_none_for_the_others():
    long_ago = timezone.now() - timedelta(days=400)
    quiet = ContactFactory(standing=Standing.ACTIVE, created_at=long_ago, last_engaged_at=long_ago)
    steady = ContactFactory(standing=Standing.ACTIVE)

    engagement.recompute_all()
    engagement.recompute_all()

    summary = "Standing changed from active to inactive"
    assert standing_events() == [(quiet.pk, {"summary": summary, "from": "active", "to": "inactive"})]
    assert Contact.objects.get(pk=steady.pk).standing == Standing.ACTIVE


def test_a_drained_batch_that_makes_a_contact_engaged_writes_the_event():
    contact = ContactFactory(standing=Standing.AT_RISK, engagement_score=1.0)
    unchanged = ContactFactory(standing=Standing.ACTIVE, engagement_score=0.0)
    delta = engagement.Delta()
    delta.add(Activity.Kind.CLICKED, timezone.now())
    small = engagement.Delta()
    small.add(Activity.Kind.OPENED, timezone.now())

    engagement.apply_human_events({contact.pk: delta, unchanged.pk: small})

    summary = "Standing changed from at risk to engaged"
    assert standing_events() == [(contact.pk, {"summary": summary, "from": "at_risk", "to": "engaged"})]
