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


def test_changing_the_owner_logs_the_new_owner_and_not_untouched_fields():
    contact = ContactFactory(custom_fields={"size": "M"})
    sam = UserFactory(first_name="Sam", last_name="Lee")

    services.update_profile(edited(contact, owner=sam), ["custom_fields", "owner"], UserFactory())

    entry = last_profile_entry(contact)
    assert entry.details == {"fields": ["owner"], "changes": ["Owner changed to Sam Lee"]}


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
    assert changes == ["pet removed", "size changed to L", "Grade changed to A (high value)"]


def test_removing_the_owner_says_so():
    contact = ContactFactory(owner=UserFactory())

    services.update_profile(edited(contact, owner=None), ["owner"], None)

    assert last_profile_entry(contact).details["changes"] == ["Owner removed"]
