"""Header assembly: long international names and subjects fold into valid RFC 2047 / RFC 5322 headers,
and sender names with line breaks are refused when saved, not when sent."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.utils import parseaddr

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from campaigns import delivery
from campaigns.models import CampaignVariant, SenderIdentity
from tests.factories import CampaignFactory, ContactFactory, SenderIdentityFactory

pytestmark = pytest.mark.django_db

ACCENTED = "Société Générale d'Éditions Numériques — Équipe Clientèle de Nîmes"
CJK = "株式会社ラポール・マーケティング部門ニュースレター配信担当者一同より皆様へ心を込めて"
ENCODED_WORD = re.compile(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=")


class Literal:
    def __init__(self, subject: str) -> None:
        self.subject, self.html, self.text = subject, "<p>Hi</p>", "Hi"


def message_bytes(sender_name: str, subject: str = "Hello") -> bytes:
    campaign = CampaignFactory(sender=SenderIdentityFactory(email="news@example.com", name=sender_name))
    contact = ContactFactory(email="ann@example.com")
    outgoing = delivery.compose(
        delivery.template_for(campaign),
        Literal(subject),
        campaign_id=campaign.pk,
        contact_id=contact.pk,
        email=contact.email,
        message_id=7,
    )
    return delivery.to_bytes(outgoing)


def decoded(data: bytes, name: str) -> str:
    """The header as RFC 2047 reads it. The stdlib's newer parser keeps the white space between
    adjacent encoded-words inside a display name, which RFC 2047 6.2 says to drop; the older decoder drops it."""
    return str(make_header(decode_header(message_from_bytes(data)[name])))


def header_block(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


def test_a_sender_name_with_a_line_break_is_refused_on_save():
    sender = SenderIdentity(name="News\r\nBcc: victim@example.com", email="news@example.com")
    with pytest.raises(ValidationError) as refused:
        sender.full_clean()
    assert "name" in refused.value.message_dict


def test_a_variant_from_name_with_a_line_break_is_refused_on_save():
    variant = CampaignVariant(campaign=CampaignFactory(), index=1, from_name="News\nBcc: victim@example.com")
    with pytest.raises(ValidationError) as refused:
        variant.full_clean(exclude=["body"])
    assert "from_name" in refused.value.message_dict


def test_a_sender_name_of_66_accented_characters_is_accepted_on_save():
    SenderIdentity(name=ACCENTED, email="news@example.com").full_clean()


@pytest.mark.parametrize("name", [ACCENTED, CJK], ids=["accented", "cjk"])
def test_a_long_international_sender_name_folds_into_from_and_list_id(name):
    assert len(ACCENTED) == 66
    data = message_bytes(name)

    assert parseaddr(decoded(data, "From")) == (name, "news@example.com")
    assert re.fullmatch(rf"{re.escape(name)} <\d+\.campaigns\.example\.com>", decoded(data, "List-Id"))


@pytest.mark.parametrize("name", [ACCENTED, CJK], ids=["accented", "cjk"])
def test_folded_header_lines_and_encoded_words_stay_within_the_rfc_limits(name):
    headers = header_block(message_bytes(name, subject=f"{name} {CJK}"))

    from_and_list = [line for line in headers.split(b"\r\n") if not line.startswith(b"List-Unsubscribe:")]
    assert all(len(line) <= 78 for line in from_and_list if not line.startswith(b" <http")), from_and_list
    assert all(len(word) <= 75 for word in ENCODED_WORD.findall(headers))
    assert b"\n" not in headers.replace(b"\r\n", b"")


def test_a_long_international_subject_survives_folding():
    subject = f"{ACCENTED} {CJK}"
    parsed = message_from_bytes(message_bytes("News", subject=subject), policy=policy.default)
    assert parsed["Subject"] == subject


def test_a_sender_name_with_specials_is_quoted():
    parsed = message_from_bytes(message_bytes('Acme "News", Inc.'), policy=policy.default)
    assert parsed["From"].addresses[0].display_name == 'Acme "News", Inc.'
    assert parsed["From"].addresses[0].addr_spec == "news@example.com"


def test_an_esp_backend_gets_a_long_international_list_id_on_one_line(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    campaign = CampaignFactory(sender=SenderIdentityFactory(email="news@example.com", name=ACCENTED))

    result = delivery.send_test(campaign, ["qa@example.com"])["qa@example.com"]

    assert result.outcome is delivery.Outcome.SENT
    parsed = message_from_bytes(mail.outbox[0].message().as_bytes(), policy=policy.default)
    assert str(parsed["List-Id"]) == f"{ACCENTED} <{campaign.pk}.campaigns.example.com>"
