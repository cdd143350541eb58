"""The profile fields have one home (Contact.PROFILE_FIELDS and its two subsets): every screen,
file and template that lists them reads it, so a new field is a one-place edit."""

import pytest

from contacts import exporter, importer, segments
from contacts.models import Contact
from templates_mail import merge
from tracking.forms import PreferencesForm

pytestmark = pytest.mark.django_db


def test_import_offers_and_recognises_every_profile_field_by_its_own_name():
    targets = {value for value, _ in importer.mapping_choices()}
    assert set(Contact.PROFILE_FIELDS) <= targets
    assert importer.auto_mapping(list(Contact.PROFILE_FIELDS)) == {name: name for name in Contact.PROFILE_FIELDS}


def test_export_and_segment_rules_cover_every_profile_field():
    assert set(Contact.PROFILE_FIELDS) <= set(exporter.STANDARD_FIELDS)
    assert set(Contact.PROFILE_FIELDS) <= segments.TEXT_FIELDS


def test_merge_fields_are_the_profile_without_what_mail_should_not_print():
    offered = {name.removeprefix("contact.") for name in merge.FIELDS if name.startswith("contact.")}
    assert set(Contact.merge_fields()) <= offered
    assert not offered & Contact.UNMERGED_FIELDS


def test_the_preference_centre_edits_exactly_the_self_service_fields():
    form = PreferencesForm()
    assert [field.name for field in form.profile_fields()] == list(Contact.SELF_SERVICE_FIELDS)
    assert set(form.fields) == {"lists", "frequency", "pause_days", *Contact.SELF_SERVICE_FIELDS}
