"""The satisfaction question block: a row of answer links signed per recipient."""

import re

import pytest

from campaigns.version import prepare
from contacts.tokens import Purpose, answer_of, read_token
from templates_mail.recipient import Recipient, recipient_for
from tests.factories import CampaignFactory, ContactFactory
from tests.templates_mail.helpers import block

pytestmark = pytest.mark.django_db


def answer_tokens(html: str) -> list[str]:
    return re.findall(r'href="[^"]*/a/([A-Za-z0-9_-]+)"', html)


def test_a_question_shown_in_an_untracked_copy_links_nowhere():
    campaign = CampaignFactory(body=[block("satisfaction", question="How did we do?", scale="5")])
    html = prepare(campaign).render(Recipient(contact_id=7, email="a@example.com"), tracked=False).html
    assert answer_tokens(html) == []


def test_the_question_text_is_escaped_and_its_merge_fields_filled():
    campaign = CampaignFactory(
        body=[block("satisfaction", question="<script>x</script> {{ contact.company }}?", scale="5")]
    )
    html = prepare(campaign).render(recipient_for(ContactFactory(company="<b>Acme</b>"))).html
    assert "<script>" not in html and "<b>Acme" not in html
    assert "&lt;script&gt;x&lt;/script&gt; &lt;b&gt;Acme&lt;/b&gt;?" in html


def test_a_one_to_five_question_renders_five_signed_links_for_the_recipient():
    campaign = CampaignFactory(body=[block("satisfaction", question="How did we do?", scale="5")])
    html = prepare(campaign).render(Recipient(contact_id=7, email="a@example.com", message_id=70)).html
    tokens = [read_token(token, Purpose.ANSWER) for token in answer_tokens(html)]
    assert [answer_of(data.link_index) for data in tokens] == [(5, score) for score in range(1, 6)]
    assert {(data.contact_id, data.message_id, data.campaign_id) for data in tokens} == {(7, 70, campaign.pk)}


def test_an_nps_question_renders_eleven_links_from_zero_to_ten():
    campaign = CampaignFactory(body=[block("satisfaction", question="Recommend us?", scale="10")])
    html = prepare(campaign).render(Recipient(contact_id=7, email="a@example.com", message_id=70)).html
    scores = [answer_of(read_token(token, Purpose.ANSWER).link_index) for token in answer_tokens(html)]
    assert scores == [(10, score) for score in range(11)]
