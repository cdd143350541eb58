"""Editing a profile writes what really changed to the history, in words."""

import pytest

from contacts import services
from contacts.models import Activity, Contact
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def last_profile_entry(contact) -> Activity:
    return Activity.objects.filter(contact=contact, kind=Activity.Kind.PROFILE).latest("pk")


def edited(contact: Contact, **values) -> Contact:
    """The contact as an edit form hands it over: a fresh instance with new values, not saved."""
    copy = Contact.objects.get(pk=contact.pk)
    for name, value in values.items():
        setattr(copy, name, value)
    return copy


def test_changing_the_owner_is_an_owner_event_from_and_to_and_not_a_profile_edit():
    ann = UserFactory(first_name="Ann", last_name="Bell")
    contact = ContactFactory(custom_fields={"size": "M"}, owner=ann)
    sam = UserFactory(first_name="Sam", last_name="Lee")

    services.update_profile(edited(contact, owner=sam), ["custom_fields", "owner"], UserFactory())

    entry = Activity.objects.get(contact=contact, kind=Activity.Kind.OWNER)
    assert entry.details == {"summary": "Owner changed from Ann Bell to Sam Lee", "from": ann.pk, "to": sam.pk}
    assert not Activity.objects.filter(contact=contact, kind=Activity.Kind.PROFILE).exists()


def test_a_grade_set_by_a_person_is_a_manual_grade_event():
    contact = ContactFactory(grade="B")
    marketer = UserFactory()

    services.update_profile(edited(contact, grade="A"), ["grade"], marketer)

    entry = Activity.objects.get(contact=contact, kind=Activity.Kind.GRADE)
    assert (entry.details, entry.created_by) == (
        {"summary": "Grade changed from B to A", "from": "B", "to": "A", "manual": True},
        marketer,
    )


def test_an_edit_that_changes_nothing_adds_nothing_to_the_history():
    contact = ContactFactory(custom_fields={"size": "M"}, grade="A")

    services.update_profile(edited(contact), ["custom_fields", "grade"], UserFactory())

    assert not Activity.objects.filter(contact=contact, kind=Activity.Kind.PROFILE).exists()


def test_custom_fields_and_choices_are_described_by_what_they_became():
    contact = ContactFactory(custom_fields={"size": "M", "pet": "cat"}, grade="")

    services.update_profile(
        edited(contact, custom_fields={"size": "L"}, grade="A", owner=None), ["custom_fields", "grade"], None
    )

    changes = last_profile_entry(contact).details["changes"]
    assert changes == ["pet removed", "size changed to L"]


def test_removing_the_owner_says_so():
    contact = ContactFactory(owner=UserFactory(first_name="Ann", last_name="Bell"))

    services.update_profile(edited(contact, owner=None), ["owner"], None)

    entry = Activity.objects.get(contact=contact, kind=Activity.Kind.OWNER)
    assert entry.details["summary"] == "Owner removed (was Ann Bell)"


def test_bulk_tagging_writes_one_tags_event_per_newly_tagged_contact():
    tagged, untagged = ContactFactory(), ContactFactory()
    tagged.tags.add("vip")

    services.tag_contacts([tagged.pk, untagged.pk], "vip")

    events = Activity.objects.filter(kind=Activity.Kind.TAGS)
    assert [(event.contact_id, event.details["summary"]) for event in events] == [(untagged.pk, "Tags added vip")]
