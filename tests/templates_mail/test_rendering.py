"""prepare() once per campaign version, render() per recipient by substitution only."""

import re
import uuid
from unittest import mock

import pytest
from django.conf import settings

from campaigns import version
from campaigns.models import Campaign, CampaignLink, CampaignVariant
from campaigns.version import prepare
from contacts.models import CustomField
from contacts.tokens import Purpose, read_token
from templates_mail import rendering
from templates_mail.merge import MergeError
from templates_mail.recipient import Recipient, recipient_for
from templates_mail.rendering import RenderError
from tests.factories import CampaignFactory, ContactFactory, MailingListFactory, SegmentFactory, UserFactory
from tests.templates_mail.helpers import block, only_field, only_segment, text

pytestmark = pytest.mark.django_db

LINKS_BODY = [
    text(
        '<p><a href="https://shop.example.com/a?x=1&amp;y=2">A</a> <a href="http://plain.example.com/b">B</a> '
        '<a href="mailto:sales@example.com">mail</a> <a href="tel:+4912345">call</a> <a href="#top">top</a></p>'
    ),
    block("button", label="Buy", url="https://shop.example.com/a?x=1&y=2", align="center"),
]


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def tracked_url(campaign, href: str) -> str:
    data = read_token(href.rsplit("/", 1)[1], Purpose.CLICK)
    return CampaignLink.objects.get(campaign=campaign, index=data.link_index).url


def test_a_merge_error_in_a_block_names_the_block_and_position():
    campaign = CampaignFactory(body=[text("<p>ok</p>"), text("<p>Hi {{ contact.frist_name }}</p>")])
    with pytest.raises(MergeError) as raised:
        prepare(campaign)
    problem = raised.value.problems[0]
    assert (problem.where, problem.line, problem.column) == ("block 2 (text), text", 1, 7)


def test_merge_errors_in_subject_and_body_are_reported_together():
    campaign = CampaignFactory(subject="{{ contact.x }}", body=[text("{% if contact.grade %}")])
    with pytest.raises(MergeError) as raised:
        prepare(campaign)
    assert [problem.where for problem in raised.value.problems] == ["subject", "block 1 (text), text"]


def test_a_campaign_without_any_layout_cannot_render():
    campaign = CampaignFactory(layout=None)
    campaign.layout = None
    with mock.patch.object(version.Layout.objects, "order_by") as ordered:
        ordered.return_value.first.return_value = None
        with pytest.raises(RenderError, match="no layout"):
            prepare(campaign)


def test_premailer_runs_once_for_a_100000_recipient_send_in_batches_and_variants():
    campaign = CampaignFactory(subject_b="Other {{ contact.first_name }}", body=LINKS_BODY)
    with mock.patch.object(rendering, "Premailer", wraps=rendering.Premailer) as premailer:
        for batch in range(100):
            prepared = prepare(campaign, variant=batch % 2)
            for number in range(batch * 1000 + 1, batch * 1000 + 1001):
                prepared.render(Recipient(contact_id=number, email=f"r{number}@example.com", message_id=number))
    assert premailer.call_count == 1


def test_editing_the_body_makes_a_new_version_that_is_inlined_again():
    campaign = CampaignFactory(body=[text("<p>one</p>")])
    with mock.patch.object(rendering, "Premailer", wraps=rendering.Premailer) as premailer:
        first = prepare(campaign)
        campaign.body = [text("<p>two</p>")]
        second = prepare(campaign)
    assert premailer.call_count == 2
    assert first.content_hash != second.content_hash


def test_every_http_link_is_tracked_and_resolves_back_to_the_original():
    campaign = CampaignFactory(body=LINKS_BODY)
    html = prepare(campaign).render(Recipient(contact_id=7, email="a@example.com", message_id=70)).html
    tracked = [href for href in hrefs(html) if "/t/c/" in href]
    assert [tracked_url(campaign, href) for href in tracked] == [
        "https://shop.example.com/a?x=1&y=2",
        "http://plain.example.com/b",
        "https://shop.example.com/a?x=1&y=2",
    ]
    assert all(href.startswith(f"{settings.SITE_URL}/t/c/") for href in tracked)


def test_mailto_tel_and_anchor_links_are_left_alone():
    campaign = CampaignFactory(body=LINKS_BODY)
    html = prepare(campaign).render(Recipient(contact_id=7, email="a@example.com")).html
    assert {"mailto:sales@example.com", "tel:+4912345", "#top"} <= set(hrefs(html))


def test_click_tokens_name_the_contact_message_and_campaign():
    campaign = CampaignFactory(body=LINKS_BODY)
    html = prepare(campaign).render(Recipient(contact_id=7, email="a@example.com", message_id=70)).html
    data = read_token(next(h for h in hrefs(html) if "/t/c/" in h).rsplit("/", 1)[1], Purpose.CLICK)
    assert (data.contact_id, data.message_id, data.campaign_id) == (7, 70, campaign.pk)


def test_repeated_prepares_agree_on_the_link_table():
    campaign = CampaignFactory(body=LINKS_BODY)
    prepare(campaign)
    prepare(campaign)
    assert list(CampaignLink.objects.filter(campaign=campaign).order_by("index").values_list("url", flat=True)) == [
        "https://shop.example.com/a?x=1&y=2",
        "http://plain.example.com/b",
    ]


def test_footer_links_and_pixel_carry_signed_tokens_of_their_purpose():
    campaign = CampaignFactory(body=[text("<p>x</p>")])
    html = prepare(campaign).render(Recipient(contact_id=5, email="a@example.com", message_id=9)).html
    for path, purpose in [("u", Purpose.UNSUBSCRIBE), ("p", Purpose.PREFERENCES), ("t/o", Purpose.OPEN)]:
        token = re.search(rf'{re.escape(settings.SITE_URL)}/{path}/([\w-]+)"', html).group(1)
        assert read_token(token, purpose).contact_id == 5


def test_merge_fields_are_filled_and_escaped_per_recipient():
    campaign = CampaignFactory(
        subject="Hi {{ contact.first_name }}",
        body=[text("<p>Dear {{ contact.first_name }} at {{ contact.company }}</p>")],
    )
    message = prepare(campaign).render(recipient_for(ContactFactory(first_name="Ann", company="<b>Acme</b>")))
    assert "Dear Ann at &lt;b&gt;Acme&lt;/b&gt;" in message.html
    assert message.subject == "Hi Ann"


def test_owner_and_list_name_are_merge_fields():
    owner = UserFactory(first_name="Li", last_name="Wei", email="li.wei@staff.example.com")
    campaign = CampaignFactory(body=[text("<p>{{ owner.name }} / {{ owner.signature }} / {{ list.name }}</p>")])
    contact = ContactFactory(owner=owner)
    html = prepare(campaign).render(recipient_for(contact, list_name="VIP")).html
    assert "Li Wei / Li Wei &lt;li.wei@staff.example.com&gt; / VIP" in html


def test_custom_fields_reach_the_message():
    CustomField.objects.create(key="tier", label="Tier")
    campaign = CampaignFactory(body=[text("<p>Tier {{ contact.custom.tier }}</p>")])
    html = prepare(campaign).render(recipient_for(ContactFactory(custom_fields={"tier": "gold"}))).html
    assert "Tier gold" in html


def test_recipient_for_runs_no_query_when_the_owner_is_selected(django_assert_num_queries):
    contact = ContactFactory(owner=UserFactory())
    contact = type(contact).objects.select_related("owner").get(pk=contact.pk)
    with django_assert_num_queries(0):
        recipient_for(contact, message_id=3)


def test_render_runs_no_query(django_assert_num_queries):
    campaign = CampaignFactory(body=[*LINKS_BODY, text("<p>A only</p>", only_field("grade", "A"))])
    prepared = prepare(campaign)
    with django_assert_num_queries(0):
        prepared.render(Recipient(contact_id=1, email="a@example.com", grade="A"))


def test_field_rule_blocks_are_chosen_per_recipient():
    campaign = CampaignFactory(
        body=[
            text("<p>Everyone</p>"),
            text("<p>Gold offer</p>", only_field("grade", "A")),
            text("<p>Not East</p>", only_field("region", "East China", "is_not")),
        ]
    )
    prepared = prepare(campaign)
    grade_a = prepared.render(Recipient(contact_id=1, email="a@example.com", grade="A", region="East China"))
    grade_b = prepared.render(Recipient(contact_id=2, email="b@example.com", grade="B", region="North"))
    assert ("Gold offer" in grade_a.html, "Not East" in grade_a.html) == (True, False)
    assert ("Gold offer" in grade_b.html, "Not East" in grade_b.html) == (False, True)
    assert "Gold offer" in grade_a.text
    assert "Gold offer" not in grade_b.text


def test_segment_blocks_are_chosen_by_segment_membership():
    vip, other = ContactFactory(industry="Retail"), ContactFactory(industry="Energy")
    segment = SegmentFactory(rules={"field": "industry", "op": "equals", "value": "Retail"})
    campaign = CampaignFactory(body=[text("<p>Hello</p>"), text("<p>VIP lounge</p>", only_segment(segment))])
    prepared = prepare(campaign)
    assert "VIP lounge" in prepared.render(recipient_for(vip)).html
    assert "VIP lounge" not in prepared.render(recipient_for(other)).html


def test_segment_membership_is_read_once_for_all_batches_of_a_send(django_assert_num_queries):
    segment = SegmentFactory(rules={"field": "grade", "op": "equals", "value": "A"})
    campaign = CampaignFactory(body=[text("<p>Gold</p>", only_segment(segment))])
    first_batch, second_batch = prepare(campaign), prepare(campaign)
    # The segment and its members for the first batch; only the segment's rules for the second.
    with django_assert_num_queries(3):
        for prepared in (first_batch, second_batch):
            for number in range(50):
                prepared.render(Recipient(contact_id=number, email=f"r{number}@example.com"))


def test_editing_a_segment_changes_who_sees_its_block_at_once():
    contact = ContactFactory(grade="A")
    segment = SegmentFactory(rules={"field": "grade", "op": "equals", "value": "A"})
    campaign = CampaignFactory(body=[text("<p>Gold</p>", only_segment(segment))])
    assert "Gold" in prepare(campaign).render(recipient_for(contact)).html
    segment.rules = {"field": "grade", "op": "equals", "value": "B"}
    segment.save()
    assert "Gold" not in prepare(campaign).render(recipient_for(contact)).html


def test_a_sent_campaigns_link_table_cannot_change():
    campaign = CampaignFactory(body=LINKS_BODY)
    prepare(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT)
    campaign.refresh_from_db()
    campaign.body = [text('<p><a href="https://other.example.com/">new</a></p>')]
    with pytest.raises(RenderError, match="cannot change"):
        prepare(campaign)


def test_a_preview_can_show_every_dynamic_block():
    campaign = CampaignFactory(body=[text("<p>Gold offer</p>", only_field("grade", "A"))])
    message = prepare(campaign).render(Recipient(contact_id=1, email="a@example.com"), show_all_blocks=True)
    assert "Gold offer" in message.html


def test_cjk_emoji_and_accents_survive_subject_preheader_and_body():
    campaign = CampaignFactory(
        subject="新品上市 🎉 {{ contact.first_name }}",
        preheader="Découvrez 限时优惠",
        body=[text("<p>您好 {{ contact.first_name }} Ça va? 😀</p>")],
    )
    message = prepare(campaign).render(recipient_for(ContactFactory(first_name="王芳")))
    assert message.subject == "新品上市 🎉 王芳"
    assert message.preheader == "Découvrez 限时优惠"
    assert "您好 王芳 Ça va? 😀" in message.html
    assert "您好 王芳 Ça va? 😀" in message.text


def test_variant_one_uses_subject_b():
    campaign = CampaignFactory(subject="A {{ contact.email }}", subject_b="B {{ contact.email }}")
    recipient = Recipient(contact_id=1, email="x@example.com")
    assert prepare(campaign, variant=1).render(recipient).subject == "B x@example.com"
    assert prepare(campaign, variant=0).render(recipient).subject == "A x@example.com"


def test_a_variant_row_overrides_subject_and_body():
    campaign = CampaignFactory(subject="A", body=[text("<p>Body A</p>")])
    CampaignVariant.objects.create(campaign=campaign, index=2, subject="C", body=[text("<p>Body C</p>")])
    message = prepare(campaign, variant=2).render(Recipient(contact_id=1, email="x@example.com"))
    assert (message.subject, "Body C" in message.html) == ("C", True)


def test_css_is_inlined_and_media_queries_are_kept():
    campaign = CampaignFactory(body=[text("<p>styled</p>")])
    campaign.layout.html = campaign.layout.html.replace("</style>", "@media (max-width:600px){p{color:#000}}</style>")
    html = prepare(campaign).render(Recipient(contact_id=1, email="x@example.com")).html
    assert '<p style="color:#333">styled</p>' in html
    assert "@media (max-width:600px)" in html.replace(": ", ":")


def test_preheader_is_hidden_at_the_top_of_the_body():
    campaign = CampaignFactory(preheader="Sale ends {{ contact.first_name|default:'soon' }}")
    message = prepare(campaign).render(Recipient(contact_id=1, email="x@example.com"))
    assert re.search(
        r'<body[^>]*>\s*<div class="preheader" style="display:none[^"]*">Sale ends soon</div>', message.html
    )
    assert message.preheader == "Sale ends soon"


def test_utm_parameters_join_the_link_table_when_asked_for():
    campaign = CampaignFactory(name="Autumn Sale", utm_enabled=True, body=LINKS_BODY)
    prepare(campaign)
    assert CampaignLink.objects.get(campaign=campaign, index=0).url == (
        "https://shop.example.com/a?x=1&y=2&utm_source=rapport&utm_medium=email&utm_campaign=autumn-sale"
    )


def test_utm_parameters_set_by_hand_are_kept():
    body = [text('<p><a href="https://shop.example.com/?utm_source=partner">x</a></p>')]
    prepare(campaign := CampaignFactory(name="Sale", utm_enabled=True, body=body))
    url = CampaignLink.objects.get(campaign=campaign, index=0).url
    assert url == "https://shop.example.com/?utm_source=partner&utm_medium=email&utm_campaign=sale"


def test_international_domain_and_path_links_resolve_back_exactly():
    body = [text('<p><a href="https://bücher.example/straße?q=中文">x</a></p>')]
    campaign = CampaignFactory(body=body)
    html = prepare(campaign).render(Recipient(contact_id=1, email="a@example.com")).html
    assert tracked_url(campaign, next(h for h in hrefs(html) if "/t/c/" in h)) == "https://bücher.example/straße?q=中文"


def test_a_personalised_link_is_filled_per_recipient_and_not_tracked():
    body = [text('<p><a href="https://shop.example.com/me?email={{ contact.email }}">me</a></p>')]
    html = prepare(CampaignFactory(body=body)).render(Recipient(contact_id=1, email="a@example.com")).html
    assert 'href="https://shop.example.com/me?email=a@example.com"' in html


def test_the_list_name_is_the_campaigns_only_list_unless_the_recipient_names_one():
    campaign = CampaignFactory(body=[text("<p>via {{ list.name }}</p>")])
    campaign.include_lists.add(MailingListFactory(name="Customers"))
    prepared = prepare(campaign)
    assert "via Customers" in prepared.render(Recipient(contact_id=1, email="a@example.com")).html
    assert "via VIP" in prepared.render(Recipient(contact_id=1, email="a@example.com", list_name="VIP")).html


def test_line_breaks_in_profile_values_cannot_break_the_subject_header():
    campaign = CampaignFactory(subject="Hi {{ contact.first_name }}")
    message = prepare(campaign).render(
        Recipient(contact_id=1, email="a@example.com", first_name="Ann\r\nBcc: x@evil.example")
    )
    assert message.subject == "Hi Ann  Bcc: x@evil.example"


def test_a_second_worker_process_reuses_the_shared_compiled_version(settings):
    settings.RENDER_CACHE_SECONDS = 60
    campaign = CampaignFactory(body=[text(f"<p>shared {uuid.uuid4()}</p>")])
    with mock.patch.object(rendering, "Premailer", wraps=rendering.Premailer) as premailer:
        first = prepare(campaign).render(Recipient(contact_id=1, email="a@example.com")).html
        rendering.clear_cache()
        second = prepare(campaign).render(Recipient(contact_id=1, email="a@example.com")).html
    assert premailer.call_count == 1
    assert first == second


def test_an_unavailable_shared_cache_only_costs_an_inlining(settings):
    settings.RENDER_CACHE_SECONDS = 60
    campaign = CampaignFactory(body=[text("<p>still works</p>")])
    with mock.patch.object(rendering.cache, "get", side_effect=ConnectionError("redis down")):
        assert "still works" in prepare(campaign).render(Recipient(contact_id=1, email="a@example.com")).html


def test_a_tracked_link_redirects_to_exactly_the_original_url(client):
    campaign = CampaignFactory(body=LINKS_BODY)
    contact = ContactFactory()
    html = prepare(campaign).render(recipient_for(contact)).html
    tracked = [href for href in hrefs(html) if "/t/c/" in href]
    locations = [client.get(href.removeprefix(settings.SITE_URL))["Location"] for href in tracked]
    assert locations == [
        "https://shop.example.com/a?x=1&y=2",
        "http://plain.example.com/b",
        "https://shop.example.com/a?x=1&y=2",
    ]
