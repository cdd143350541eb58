"""The campaign editor in the admin: permissions, frozen content, lint panel, count, preview, test send, copy."""

import re
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils.html import escape
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from campaigns import delivery
from campaigns.models import Campaign, SenderIdentity
from contacts.models import CustomField
from templates_mail.merge import ANSWER_FIELDS, FIELDS
from templates_mail.models import Layout
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    MailingListFactory,
    MessageFactory,
    SenderIdentityFactory,
    SubscriptionFactory,
    UserFactory,
)
from tests.templates_mail.helpers import text

pytestmark = pytest.mark.django_db


def edit_url(campaign) -> str:
    return reverse("campaigns:edit", args=[campaign.pk])


def preview_url(campaign) -> str:
    return reverse("campaigns:preview", args=[campaign.pk])


def form_data(audience: dict | None = None, **overrides) -> dict:
    audience = audience or {}
    fields = {
        "name": "Autumn news",
        "subject": "Hello {{ contact.first_name|default:'there' }}",
        "subject_b": "",
        "preheader": "",
        "sender": str(SenderIdentityFactory().pk),
        "reply_to": "",
        "layout": str(Layout.objects.get(is_default=True).pk),
        "body": streamfield(
            [
                (
                    "text",
                    {
                        "text": rich_text("<p>Our news</p>"),
                        "audience": {"segment": "", "field": "", "operator": "is", "value": ""},
                    },
                )
            ]
        ),
        "text_body": "",
        "ab_test_share": "0",
        "ab_metric": "opens",
        "ab_wait": "",
    }
    fields.update(overrides)
    return {**nested_form_data(fields), **audience}


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(preview_url(CampaignFactory()))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_staff_without_change_permission_cannot_preview(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    assert client.get(preview_url(CampaignFactory())).status_code in {302, 403}


def test_staff_without_change_permission_cannot_count_recipients(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    assert client.get(reverse("campaigns:recipient_count")).status_code in {302, 403}


def test_a_sent_campaigns_content_is_frozen(client, marketer):
    campaign = CampaignFactory(status=Campaign.Status.SENT, subject="Original")
    response = client.post(edit_url(campaign), form_data(subject="Changed"))
    assert response.status_code == 200
    assert "can no longer change" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.subject == "Original"


def test_only_verified_senders_can_be_chosen(client, marketer):
    unverified = SenderIdentityFactory(email="unverified@example.com", verified=False)
    verified = SenderIdentityFactory()
    page = client.get(reverse("campaigns:add")).content.decode()
    assert f'<option value="{verified.pk}">{escape(verified)}</option>' in page
    assert f'<option value="{unverified.pk}">{escape(unverified)}</option>' not in page
    response = client.post(reverse("campaigns:add"), form_data(sender=str(unverified.pk)))
    assert response.status_code == 200
    assert not Campaign.objects.filter(name="Autumn news").exists()


def test_a_marketer_creates_a_campaign_with_body_and_audience(client, marketer):
    mailing_list = MailingListFactory()
    response = client.post(reverse("campaigns:add"), form_data({"include_lists": [str(mailing_list.pk)]}))
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="Autumn news")
    assert campaign.body[0].block_type == "text"
    assert list(campaign.include_lists.all()) == [mailing_list]
    assert (campaign.status, campaign.created_by) == (Campaign.Status.DRAFT, marketer)


def test_the_edit_page_shows_lint_errors_and_the_recipient_count(client, marketer):
    campaign = CampaignFactory(subject="", body=[text("<p>Hi {{ contact.nickname }}</p>")])
    mailing_list = MailingListFactory()
    SubscriptionFactory.create_batch(3, mailing_list=mailing_list)
    campaign.include_lists.add(mailing_list)
    page = client.get(edit_url(campaign)).content.decode()
    assert 'data-code="empty_subject"' in page
    assert 'data-code="merge"' in page
    assert "unknown merge field" in page
    assert '<span id="recipient-count" data-url="/admin/campaigns/recipient-count/">3</span>' in page


def test_the_recipient_count_follows_an_unsaved_selection(client, marketer):
    included, excluded = MailingListFactory(), MailingListFactory()
    subscriptions = SubscriptionFactory.create_batch(4, mailing_list=included)
    SubscriptionFactory(mailing_list=excluded, contact=subscriptions[0].contact)
    response = client.get(
        reverse("campaigns:recipient_count"), {"include_lists": [included.pk], "exclude_lists": [excluded.pk]}
    )
    assert response.json() == {"count": 3}


def test_the_recipient_count_rejects_non_numeric_ids(client, marketer):
    assert client.get(reverse("campaigns:recipient_count"), {"include_lists": "x"}).status_code == 400


def test_preview_as_a_contact_fills_their_fields(client, marketer):
    ContactFactory(email="ann@example.com", first_name="Ann")
    campaign = CampaignFactory(body=[text("<p>Dear {{ contact.first_name }}</p>")])
    page = client.get(preview_url(campaign), {"contact": "ANN@example.com"}).content.decode()
    assert '<span id="preview-subject">Hello Ann</span>' in page
    assert "Dear Ann" in page


def test_preview_opens_as_a_real_recipient_of_the_campaign(client, marketer):
    customers = MailingListFactory()
    ContactFactory(email="outsider@example.com", first_name="Olga")
    SubscriptionFactory(contact=ContactFactory(email="ann@example.com", first_name="Ann"), mailing_list=customers)
    campaign = CampaignFactory(subject="Hello {{ contact.first_name }}")
    campaign.include_lists.add(customers)
    page = client.get(preview_url(campaign)).content.decode()
    assert '<span id="preview-subject">Hello Ann</span>' in page
    assert 'value="ann@example.com"' in page


def test_preview_with_an_empty_contact_shows_every_block_with_empty_fields(client, marketer):
    ContactFactory(first_name="Ann")
    campaign = CampaignFactory(subject="Hello {{ contact.first_name|default:'there' }}")
    page = client.get(preview_url(campaign), {"contact": ""}).content.decode()
    assert '<span id="preview-subject">Hello there</span>' in page


def test_preview_at_mobile_width_narrows_the_frame(client, marketer):
    page = client.get(preview_url(CampaignFactory()), {"width": "mobile"}).content.decode()
    assert 'width="375"' in page


def test_preview_frame_is_sandboxed(client, marketer):
    page = client.get(preview_url(CampaignFactory(body=[text("<p>x</p>")]))).content.decode()
    assert '<iframe id="preview-frame" title="HTML preview" sandbox ' in page


def test_preview_shows_the_text_part(client, marketer):
    page = client.get(preview_url(CampaignFactory(body=[text("<p>Plain words</p>")]))).content.decode()
    assert 'id="preview-text"' in page
    assert "Plain words" in page.split('id="preview-text"')[1]


def test_preview_of_an_unknown_address_says_so(client, marketer):
    page = client.get(preview_url(CampaignFactory()), {"contact": "nobody@example.com"}).content.decode()
    assert "No contact with that address" in page


def test_preview_of_a_broken_campaign_lists_the_merge_errors(client, marketer):
    page = client.get(preview_url(CampaignFactory(subject="{{ contact.nope }}"))).content.decode()
    assert 'id="preview-problems"' in page
    assert "subject, line 1, column 1: unknown merge field" in page


def test_send_test_needs_the_permission_to_send(client, smtp_sink, settings):
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = (
        delivery.SMTP_BACKEND,
        "127.0.0.1",
        smtp_sink.port,
    )
    editor = UserFactory(is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(codename__in=["access_admin", "change_campaign", "view_campaign"])
    )
    client.force_login(editor)
    campaign = CampaignFactory()
    assert 'id="send-test"' not in client.get(preview_url(campaign)).content.decode()
    assert client.post(preview_url(campaign), {"addresses": "qa@example.com"}).status_code in {302, 403}
    assert smtp_sink.handler.messages == []


def test_send_test_rejects_bad_addresses(client, marketer, smtp_sink, settings):
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = (
        delivery.SMTP_BACKEND,
        "127.0.0.1",
        smtp_sink.port,
    )
    response = client.post(preview_url(CampaignFactory()), {"addresses": "not-an-address"})
    assert response.status_code == 200
    assert smtp_sink.handler.messages == []


def test_send_test_arrives_marked_as_test_with_the_previewed_contacts_fields(client, marketer, smtp_sink, settings):
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = (
        delivery.SMTP_BACKEND,
        "127.0.0.1",
        smtp_sink.port,
    )
    ContactFactory(email="ann@example.com", first_name="Ann")
    campaign = CampaignFactory(subject="新品 🎉 for {{ contact.first_name }}")
    response = client.post(
        preview_url(campaign), {"addresses": "qa@example.com, boss@example.com", "contact": "ann@example.com"}
    )
    assert response.status_code == 302
    received = smtp_sink.parsed()
    assert sorted(rcpts for rcpts, _ in smtp_sink.handler.messages) == [["boss@example.com"], ["qa@example.com"]]
    assert received[0]["Subject"] == "[Test] 新品 🎉 for Ann"
    assert received[0]["X-Rapport-Test"] == "1"
    assert message_from_bytes(smtp_sink.handler.messages[0][1], policy=policy.default).is_multipart()


def test_after_a_test_send_the_preview_comes_back_at_the_same_width_and_subject(client, marketer, smtp):
    campaign = CampaignFactory(subject="A", subject_b="B")
    asked = f"{preview_url(campaign)}?contact=ann%40example.com&variant=1&width=mobile"
    response = client.post(asked, {"addresses": "qa@example.com", "contact": "ann@example.com"})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query) == {
        "contact": ["ann@example.com"],
        "variant": ["1"],
        "width": ["mobile"],
    }
    assert [rcpts for rcpts, _ in smtp.handler.messages] == [["qa@example.com"]]


def test_a_test_sent_from_subject_bs_preview_carries_subject_b(client, marketer, smtp):
    campaign = CampaignFactory(subject="Subject A", subject_b="Subject B")
    client.post(f"{preview_url(campaign)}?variant=1", {"addresses": "qa@example.com"})
    assert [message["Subject"] for message in smtp.parsed()] == ["[Test] Subject B"]


def test_copy_prefills_a_new_campaign_from_the_original(client, marketer):
    campaign = CampaignFactory(subject="Spring {{ contact.first_name }}", body=[text("<p>Copied body</p>")])
    page = client.get(reverse("campaigns:copy", args=[campaign.pk])).content.decode()
    assert "Spring {{ contact.first_name }}" in page
    assert "Copied body" in page


def test_the_merge_field_picker_lists_every_field_and_custom_fields_with_the_default_syntax(client, marketer):
    CustomField.objects.create(key="tier", label="Loyalty tier")
    for url in (reverse("campaigns:add"), edit_url(CampaignFactory())):
        page = client.get(url).content.decode()
        picker = re.search(r'<details[^>]*id="merge-fields".*?</details>', page, re.S).group(0)
        offered = set(re.findall(r'data-merge-field="([^"]+)"', picker))
        # A satisfaction question's answer links are placed by its block, not typed by hand.
        assert offered == (FIELDS - set(ANSWER_FIELDS)) | {"contact.custom.tier"}
        assert '{{ contact.first_name|default:"there" }}' in picker
        assert "merge_fields.js" in page


def test_an_unverified_sender_is_named_with_why_it_is_not_offered(client, marketer):
    SenderIdentityFactory(name="Shop", email="shop@example.org", verified=False)
    page = client.get(reverse("campaigns:add")).content.decode()
    assert "Only verified senders are offered" in page
    assert "Not verified yet: Shop &lt;shop@example.org&gt;." in page
    assert f'<a href="{reverse("senders:index")}">Senders</a>' in page


def test_a_copied_campaign_is_named_copy_of_the_original(client, marketer):
    campaign = CampaignFactory(name="Spring sale")
    page = client.get(reverse("campaigns:copy", args=[campaign.pk])).content.decode()
    assert re.search(r'<input[^>]*name="name"[^>]*value="Copy of Spring sale"', page)
    campaign.refresh_from_db()
    assert campaign.name == "Spring sale"


def test_a_layout_without_footer_placeholders_is_refused(client, marketer):
    response = client.post(reverse("layouts:add"), {"name": "Bare", "html": "<html><body>{{ content }}</body></html>"})
    assert response.status_code == 200
    page = response.content.decode()
    assert all(
        f"it needs {{{{ {name} }}}}" in page for name in ["unsubscribe_url", "preferences_url", "postal_address"]
    )
    assert not Layout.objects.filter(name="Bare").exists()


def test_preview_can_show_subject_b(client, marketer):
    campaign = CampaignFactory(subject="Subject A", subject_b="Subject B")
    page = client.get(preview_url(campaign), {"variant": "1"}).content.decode()
    assert '<span id="preview-subject">Subject B</span>' in page


def test_a_marketer_adds_a_sender_identity_that_stays_unverified_until_its_domain_checks_pass(client, marketer):
    response = client.post(
        reverse("senders:add"),
        {"name": "Sales", "email": "sales@example.com", "reply_to": "", "postal_address": "1 Road", "verified": "on"},
    )
    assert response.status_code == 302
    assert not SenderIdentity.objects.get(email="sales@example.com").verified


def test_preview_as_a_web_page_is_sandboxed_html(client, marketer):
    ContactFactory(email="ann@example.com", first_name="Ann")
    campaign = CampaignFactory(body=[text("<p>Dear {{ contact.first_name }}</p>")])
    response = client.get(preview_url(campaign), {"contact": "ann@example.com", "format": "web"})
    assert response["Content-Security-Policy"] == "sandbox"
    assert "Dear Ann" in response.content.decode()


def test_once_sent_the_preview_links_the_contacts_public_web_version(client, marketer):
    contact = ContactFactory(email="ann@example.com", first_name="Ann")
    campaign = CampaignFactory(body=[text("<p>Dear {{ contact.first_name }}</p>")])
    MessageFactory(campaign=campaign, contact=contact)
    page = client.get(preview_url(campaign), {"contact": "ann@example.com"}).content.decode()
    web_version = re.search(r'id="web-version" href="http://[^/"]+(/v/[\w-]+)"', page).group(1)
    assert "Dear Ann" in client.get(web_version).content.decode()


def test_the_campaign_listing_runs_a_fixed_number_of_queries(client, marketer, django_assert_max_num_queries):
    CampaignFactory.create_batch(30)
    with django_assert_max_num_queries(25):
        assert client.get(reverse("campaigns:index")).status_code == 200


def test_a_layout_with_a_merge_error_is_refused_with_its_position(client, marketer):
    html = Layout.objects.get(is_default=True).html.replace("</body>", "{{ contact.nope }}</body>")
    response = client.post(reverse("layouts:add"), {"name": "Typo", "html": html})
    assert "layout, line" in response.content.decode()
    assert "unknown merge field" in response.content.decode()
    assert not Layout.objects.filter(name="Typo").exists()


def test_the_editor_links_to_preview_and_to_sending(client, marketer):
    campaign = CampaignFactory()
    page = client.get(edit_url(campaign)).content.decode()
    assert preview_url(campaign) in page
    assert reverse("sending:detail", args=[campaign.pk]) in page
