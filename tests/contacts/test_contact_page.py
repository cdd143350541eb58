"""The contact page is the person: profile, standing, lists, owner, notes and a readable history."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import timeline
from contacts.models import Activity, Contact, CustomField
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    MailingListFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
CONTACTS = "wagtailsnippets_contacts_contact"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"


def contact_page(client, contact: Contact, query: str = "") -> str:
    response = client.get(reverse(f"{CONTACTS}:inspect", args=[contact.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def december_newsletter():
    body = [("button", {"label": "See the winter collection", "url": "https://shop.example.com/winter"})]
    return CampaignFactory(name="December newsletter", body=body)


# --- Listing and actions ------------------------------------------------------------------------------


def test_the_contact_list_links_each_contact_to_its_page_not_its_edit_form(client, salesperson):
    theirs = ContactFactory(owner=UserFactory(username="other"))
    html = client.get(reverse(f"{CONTACTS}:list")).content.decode()
    assert f'href="{reverse(f"{CONTACTS}:inspect", args=[theirs.pk])}"' in html
    assert reverse(f"{CONTACTS}:edit", args=[theirs.pk]) not in html


def test_the_contact_list_offers_edit_for_contacts_the_salesperson_owns(client, salesperson):
    mine = ContactFactory(owner=salesperson)
    html = client.get(reverse(f"{CONTACTS}:list")).content.decode()
    assert reverse(f"{CONTACTS}:edit", args=[mine.pk]) in html


def test_a_contact_someone_else_owns_shows_no_edit_action_and_no_note_form(client, salesperson):
    theirs = ContactFactory(owner=UserFactory(username="other"))
    html = contact_page(client, theirs)
    assert reverse(f"{CONTACTS}:edit", args=[theirs.pk]) not in html
    assert reverse("contacts_admin:add_note", args=[theirs.pk]) not in html


def test_an_owned_contact_has_edit_as_an_action_and_a_note_form(client, salesperson):
    mine = ContactFactory(owner=salesperson)
    html = contact_page(client, mine)
    assert reverse(f"{CONTACTS}:edit", args=[mine.pk]) in html
    assert reverse("contacts_admin:add_note", args=[mine.pk]) in html


# --- The person ------------------------------------------------------------------------------------------


def test_the_page_shows_profile_owner_lists_notes_and_standing(client, salesperson):
    contact = ContactFactory(
        first_name="Ann", last_name="Lee", company="Initech", region="Ontario", owner=salesperson, notes="Prefers calls"
    )
    contact.standing = Contact.Standing.AT_RISK
    contact.save()
    SubscriptionFactory(contact=contact, mailing_list=MailingListFactory(name="Customers"))
    html = contact_page(client, contact)
    for text in ("Ann Lee", "Initech", "Ontario", "sales", "Customers", "Prefers calls", "at risk"):
        assert text in html


def test_custom_fields_are_shown_by_their_label(client, salesperson):
    CustomField.objects.create(key="seats", label="Licensed seats", kind="number")
    html = contact_page(client, ContactFactory(custom_fields={"seats": 12}))
    assert "Licensed seats" in html


# --- The history --------------------------------------------------------------------------------------------


def test_history_names_the_campaign_the_link_text_and_the_device(client, salesperson):
    campaign = december_newsletter()
    contact = ContactFactory()
    ActivityFactory(contact=contact, kind=Activity.Kind.OPENED, campaign_id=campaign.pk, details={"ua": IPHONE})
    ActivityFactory(
        contact=contact,
        kind=Activity.Kind.CLICKED,
        campaign_id=campaign.pk,
        link_url="https://shop.example.com/winter?utm_source=rapport&utm_campaign=december",
        details={"ua": IPHONE, "ip": "abc"},
    )
    html = contact_page(client, contact)
    assert "Opened <em>December newsletter</em> on iPhone" in html
    assert "Clicked <em>See the winter collection</em> in <em>December newsletter</em>" in html
    assert "ua=" not in html
    assert "ip=" not in html


def test_history_of_a_deleted_campaign_still_reads(client, salesperson):
    contact = ContactFactory()
    ActivityFactory(contact=contact, kind=Activity.Kind.SENT, campaign_id=987654)
    assert "Sent <em>campaign #987654</em>" in contact_page(client, contact)


def test_history_names_the_list_joined(client, salesperson):
    contact = ContactFactory()
    MailingListFactory(name="Winter offers", slug="winter")
    ActivityFactory(contact=contact, kind=Activity.Kind.SUBSCRIBED, details={"list": "winter", "source": "form"})
    assert "Subscribed to <em>Winter offers</em>" in contact_page(client, contact)


def test_history_says_what_a_profile_edit_changed_in_words(client, salesperson):
    contact = ContactFactory()
    changes = ["Owner changed to Sam", "Region / province changed to Ontario"]
    details = {"fields": ["owner", "region"], "changes": changes}
    ActivityFactory(contact=contact, kind=Activity.Kind.PROFILE, details=details, created_by=salesperson)
    html = contact_page(client, contact)
    assert "Profile edited: Owner changed to Sam; Region / province changed to Ontario by sales" in html


def test_history_of_an_app_above_contacts_reads_as_the_summary_it_wrote(client, salesperson):
    contact = ContactFactory()
    details = {"summary": "Grade changed from B to A", "from": "B", "to": "A"}
    ActivityFactory(contact=contact, kind=Activity.Kind.GRADE, details=details)
    assert "Grade changed from B to A" in contact_page(client, contact)


def test_history_is_paged_newest_first(client, salesperson):
    contact = ContactFactory()
    now = timezone.now()
    for hours in range(timeline.PAGE_SIZE + 1):
        ActivityFactory(
            contact=contact,
            kind=Activity.Kind.NOTE,
            occurred_at=now - timedelta(hours=hours),
            details={"text": f"note {hours:02d}"},
        )
    first, second = contact_page(client, contact), contact_page(client, contact, "?page=2")
    assert first.index("note 00") < first.index("note 01")
    assert f"note {timeline.PAGE_SIZE:02d}" not in first
    assert f"note {timeline.PAGE_SIZE:02d}" in second


def test_a_history_page_costs_the_same_queries_however_many_campaigns_and_lists_it_names(
    django_assert_num_queries,
):
    contact = ContactFactory()
    author = UserFactory(username="writer")
    for number in range(6):
        campaign = CampaignFactory()
        mailing_list = MailingListFactory()
        ActivityFactory(contact=contact, kind=Activity.Kind.OPENED, campaign_id=campaign.pk, details={"ua": IPHONE})
        ActivityFactory(contact=contact, kind=Activity.Kind.SUBSCRIBED, details={"list": mailing_list.slug})
        ActivityFactory(contact=contact, kind=Activity.Kind.NOTE, details={"text": f"n{number}"}, created_by=author)
    # The count, the page of rows with their authors, the campaigns' names, the lists' names.
    with django_assert_num_queries(4):
        _, entries = timeline.page(contact, 1)
    assert len(entries) == 18


# --- Editing custom fields -------------------------------------------------------------------------------


def custom_field_definitions():
    CustomField.objects.create(key="seats", label="Seats", kind="number")
    CustomField.objects.create(key="renewal", label="Renewal", kind="date")
    CustomField.objects.create(key="trial", label="On trial", kind="boolean")
    CustomField.objects.create(key="plan", label="Plan", kind="choice", choices=["free", "pro"])


def marketer_edit(contact: Contact, **custom) -> dict:
    data = {name: getattr(contact, name) for name in [*Contact.PROFILE_FIELDS, "notes"]}
    data |= {"email": contact.email, "source": "manual", "grade": "", "owner": "", "tags": ""}
    return data | {f"custom__{key}": value for key, value in custom.items()}


def test_a_number_custom_field_refuses_text(client, marketer):
    custom_field_definitions()
    contact = ContactFactory(custom_fields={"seats": 3})
    response = client.post(reverse(f"{CONTACTS}:edit", args=[contact.pk]), marketer_edit(contact, seats="many"))
    assert response.status_code == 200
    assert Contact.objects.get(pk=contact.pk).custom_fields == {"seats": 3}


def test_custom_fields_are_edited_as_typed_fields_not_json(client, marketer):
    custom_field_definitions()
    contact = ContactFactory(custom_fields={"seats": 3, "legacy": "kept"})
    html = client.get(reverse(f"{CONTACTS}:edit", args=[contact.pk])).content.decode()
    assert 'name="custom_fields"' not in html
    assert 'type="date" name="custom__renewal"' in html
    assert 'type="number" name="custom__seats" value="3"' in html
    data = marketer_edit(contact, seats="12", renewal="2027-01-31", trial="true", plan="pro")
    response = client.post(reverse(f"{CONTACTS}:edit", args=[contact.pk]), data)
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.custom_fields == {
        "seats": 12,
        "renewal": "2027-01-31",
        "trial": True,
        "plan": "pro",
        "legacy": "kept",
    }
    assert "custom_fields" in contact.activities.get(kind=Activity.Kind.PROFILE).details["fields"]


def test_emptying_a_custom_field_removes_its_value(client, marketer):
    custom_field_definitions()
    contact = ContactFactory(custom_fields={"seats": 3, "plan": "pro"})
    client.post(reverse(f"{CONTACTS}:edit", args=[contact.pk]), marketer_edit(contact, seats="", plan="pro"))
    assert Contact.objects.get(pk=contact.pk).custom_fields == {"plan": "pro"}
