"""A journey's email step may carry a satisfaction question."""

import re

import pytest

from automations.mail import body_blocks
from campaigns.version import prepare
from contacts.tokens import Purpose, answer_of, read_token
from templates_mail.recipient import Recipient
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_an_email_step_without_a_question_has_no_satisfaction_block():
    assert all(block["type"] != "satisfaction" for block in body_blocks({"subject": "Hi", "text": "Hello"}))


def test_an_email_steps_question_renders_signed_nps_links():
    step = {"subject": "Hi", "text": "Thanks for your order", "question": {"text": "Recommend us?", "scale": 10}}
    campaign = CampaignFactory(body=body_blocks(step))
    html = prepare(campaign).render(Recipient(contact_id=3, email="c@example.com", message_id=30)).html
    tokens = re.findall(r'href="[^"]*/a/([A-Za-z0-9_-]+)"', html)
    assert [answer_of(read_token(token, Purpose.ANSWER).link_index) for token in tokens] == [
        (10, score) for score in range(11)
    ]
