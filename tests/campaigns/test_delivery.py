"""Message bytes and transports: headers, encodings, DKIM, send_test and render_message."""

from __future__ import annotations

from email import message_from_bytes, policy
from io import StringIO

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.management import CommandError, call_command

from campaigns import delivery, signing
from campaigns.models import Message
from contacts.tokens import Purpose, read_token
from devtools.services import free_port
from tests.conftest import SinkHandler
from tests.factories import CampaignFactory, ContactFactory, MessageFactory, SenderIdentityFactory


class Literal:
    def __init__(self, subject: str, html: str = "<p>Hi</p>", text: str = "Hi") -> None:
        self.subject, self.html, self.text = subject, html, text


def build(subject: str = "Hello", email: str = "ann@example.com", **content) -> bytes:
    campaign = CampaignFactory()
    contact = ContactFactory(email=email)
    outgoing = delivery.compose(
        delivery.template_for(campaign),
        Literal(subject, **content),
        campaign_id=campaign.pk,
        contact_id=contact.pk,
        email=contact.email,
        message_id=42,
    )
    return delivery.to_bytes(outgoing)


@pytest.mark.django_db
def test_line_break_in_a_subject_is_refused_before_sending():
    with pytest.raises(delivery.HeaderInjectionError):
        build(subject="Hi\r\nBcc: victim@example.com")


@pytest.mark.django_db
def test_line_break_in_a_sender_name_is_refused():
    campaign = CampaignFactory(sender=SenderIdentityFactory(email="evil@example.com", name="Evil\nBcc: x@example.com"))
    with pytest.raises(delivery.HeaderInjectionError):
        delivery.template_for(campaign)


@pytest.mark.django_db
def test_headers_a_mailbox_provider_expects_are_present():
    parsed = message_from_bytes(build(), policy=policy.default)

    for name in ["Message-ID", "Date", "From", "Reply-To", "List-Id", "Feedback-ID", "List-Unsubscribe-Post"]:
        assert parsed[name], name
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = [part.strip(" <>") for part in parsed["List-Unsubscribe"].split(",")]
    assert https.startswith("http://127.0.0.1:8000/u/") and mailto.startswith("mailto:")
    assert read_token(https.rsplit("/", 1)[1], Purpose.UNSUBSCRIBE).message_id == 42


@pytest.mark.django_db
def test_message_id_is_deterministic_per_message():
    first = message_from_bytes(build(), policy=policy.default)["Message-ID"]
    assert first.startswith("<rapport.") and first.endswith(".42@example.com>")


@pytest.mark.django_db
def test_non_ascii_subject_and_body_survive_encoding():
    parsed = message_from_bytes(
        build(subject="Grüße, 你好 — offre spéciale", html="<p>Ça marche ✓</p>", text="Ça marche ✓"),
        policy=policy.default,
    )

    assert parsed["Subject"] == "Grüße, 你好 — offre spéciale"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Ça marche ✓</p>"
    assert parsed.get_body(("plain",)).get_content().strip() == "Ça marche ✓"


@pytest.mark.django_db
def test_international_domain_is_sent_as_punycode():
    raw = build(email="hans@bücher.example")
    assert message_from_bytes(raw, policy=policy.default)["To"] == "hans@xn--bcher-kva.example"


@pytest.mark.django_db
def test_non_ascii_local_part_is_unsendable():
    with pytest.raises(delivery.UnsendableError):
        build(email="jürgen@example.com")


def test_an_ed25519_setting_refuses_an_rsa_key(settings, dkim_keys):
    settings.DKIM_ED25519_SELECTOR, settings.DKIM_ED25519_PRIVATE_KEY_PATH = "ed1", dkim_keys.rsa_path

    with pytest.raises(signing.DkimKeyError):
        signing.configured_keys()


def test_an_unreadable_dkim_key_is_reported_with_its_path(settings, tmp_path):
    settings.DKIM_SELECTOR, settings.DKIM_PRIVATE_KEY_PATH = "s1", str(tmp_path / "missing.pem")

    with pytest.raises(signing.DkimKeyError, match=r"missing\.pem"):
        signing.configured_keys()


@pytest.mark.django_db
def test_a_body_changed_after_signing_fails_verification(dkim_dns):
    raw = build()

    tampered = raw.replace(b"Hi", b"Ho")

    assert dkim_dns.results(tampered) == [False, False]


@pytest.mark.django_db
def test_rsa_and_ed25519_signatures_both_verify(dkim_dns):
    raw = build(subject="Grüße aus Köln", html="<p>" + "x" * 5000 + "</p>\n.dot line")

    assert dkim_dns.results(raw) == [True, True]
    signatures = message_from_bytes(raw, policy=policy.default).get_all("DKIM-Signature")
    assert [" a=rsa-sha256;" in str(s) for s in signatures] == [True, False]
    assert " a=ed25519-sha256;" in str(signatures[1])


@pytest.mark.django_db
def test_dkim_signature_covers_unsubscribe_headers(dkim_dns):
    raw = build()

    signed = message_from_bytes(raw, policy=policy.default)["DKIM-Signature"].replace(" ", "").lower()
    assert "list-unsubscribe:list-unsubscribe-post" in signed and "from:" in signed


@pytest.mark.django_db
def test_signature_lines_stay_under_78_characters(dkim_dns):
    head = build().partition(b"\r\n\r\n")[0]

    signature_lines = head.split(b"\r\nTo:")[0].split(b"\r\n")
    assert max(len(line) for line in signature_lines) <= 78


@pytest.mark.django_db
def test_without_a_selector_nothing_is_signed(settings):
    settings.DKIM_SELECTOR = settings.DKIM_ED25519_SELECTOR = ""

    assert not build().startswith(b"DKIM-Signature:")


@pytest.mark.django_db
def test_list_id_and_feedback_id_name_each_campaign():
    sender = SenderIdentityFactory(email="news@example.com")
    first, second = CampaignFactory(sender=sender), CampaignFactory(sender=sender)

    headers = [delivery.template_for(campaign) for campaign in (first, second)]

    assert [template.list_id.rpartition(" ")[2] for template in headers] == [
        f"<{first.pk}.campaigns.example.com>",
        f"<{second.pk}.campaigns.example.com>",
    ]
    assert [template.feedback_id for template in headers] == [
        f"{first.pk}:{sender.pk}:campaign:example.com",
        f"{second.pk}:{sender.pk}:campaign:example.com",
    ]


@pytest.mark.django_db
def test_list_id_and_feedback_id_reach_an_esp_too(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    campaign = CampaignFactory()

    delivery.send_test(campaign, ["qa@example.com"])

    headers = mail.outbox[0].extra_headers
    assert headers["List-Id"].endswith(f"<{campaign.pk}.campaigns.example.com>")
    assert headers["Feedback-ID"].startswith(f"{campaign.pk}:")


@pytest.mark.django_db
def test_send_test_goes_through_the_backend_marked_as_a_test_in_header_and_subject():
    campaign = CampaignFactory(subject="Hello {{ contact.first_name }}")

    results = delivery.send_test(campaign, ["qa@example.com"], contact=ContactFactory(first_name="Ann"))

    assert results["qa@example.com"].outcome is delivery.Outcome.SENT
    assert mail.outbox[0].subject == "[Test] Hello Ann" and mail.outbox[0].to == ["qa@example.com"]
    assert mail.outbox[0].extra_headers["X-Rapport-Test"] == "1"
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_send_test_over_smtp_reaches_the_server(settings, smtp_sink):
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = (
        delivery.SMTP_BACKEND,
        "127.0.0.1",
        smtp_sink.port,
    )

    delivery.send_test(CampaignFactory(), ["qa@example.com"])

    (recipients, raw), *_ = smtp_sink.handler.messages
    assert recipients == ["qa@example.com"]
    assert message_from_bytes(raw, policy=policy.default)["X-Rapport-Test"] == "1"


@pytest.mark.django_db
def test_smtp_5xx_is_a_failure_and_4xx_a_deferral(settings, smtp_sink):
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = (
        delivery.SMTP_BACKEND,
        "127.0.0.1",
        smtp_sink.port,
    )
    campaign = CampaignFactory()

    smtp_sink.handler.reply = "550 5.1.1 unknown user"
    refused = delivery.send_test(campaign, ["a@example.com"])["a@example.com"]
    smtp_sink.handler.reply = "451 4.3.0 try later"
    later = delivery.send_test(campaign, ["a@example.com"])["a@example.com"]

    assert (refused.outcome, refused.code) == (delivery.Outcome.FAILED, 550)
    assert (later.outcome, later.code) == (delivery.Outcome.DEFERRED, 451)


@pytest.mark.django_db
def test_render_message_refuses_an_unknown_contact():
    with pytest.raises(CommandError, match="no contact"):
        call_command("render_message", CampaignFactory().pk, "nobody@example.com")


@pytest.mark.django_db
def test_render_message_prints_the_exact_signed_bytes(dkim_dns):
    message = MessageFactory(contact=ContactFactory(email="ann@example.com"))
    out = StringIO()

    call_command("render_message", message.campaign_id, "ann@example.com", stdout=out)

    raw = out.getvalue().encode("ascii")
    assert dkim_dns.results(raw) == [True, True]
    assert f"<rapport.{message.campaign_id}.{message.pk}@example.com>".encode() in raw


class PipeliningHandler(SinkHandler):
    """An aiosmtpd sink that offers PIPELINING (aiosmtpd reads pipelined commands in order)."""

    refuse_rcpt: str | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 - aiosmtpd API
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 - aiosmtpd API
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def pipelining_sink(settings):
    handler = PipeliningHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = (
        delivery.SMTP_BACKEND,
        "127.0.0.1",
        controller.port,
    )
    yield handler
    controller.stop()


@pytest.mark.django_db
def test_pipelined_smtp_keeps_lines_that_start_with_a_dot(pipelining_sink):
    campaign = CampaignFactory(text_body=".hidden line\n..two dots\n{{ unsubscribe_url }}")

    delivery.send_test(campaign, ["qa@example.com"])

    (recipients, raw), *_ = pipelining_sink.messages
    text = message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
    assert recipients == ["qa@example.com"]
    assert text.replace("\r\n", "\n").startswith(".hidden line\n..two dots\n")


@pytest.mark.django_db
def test_pipelined_smtp_reports_a_refused_recipient(pipelining_sink):
    pipelining_sink.refuse_rcpt = "550 5.1.1 no such mailbox"

    result = delivery.send_test(CampaignFactory(), ["gone@example.com"])["gone@example.com"]

    assert (result.outcome, result.code) == (delivery.Outcome.FAILED, 550)
    assert pipelining_sink.messages == []


@pytest.mark.django_db
def test_esp_backend_gets_the_verp_sender_and_list_headers(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"

    result = delivery.send_test(CampaignFactory(), ["qa@example.com"])["qa@example.com"]

    sent = mail.outbox[0]
    assert result.outcome is delivery.Outcome.SENT
    assert sent.anymail_test_params["envelope_sender"].startswith("bounces+")
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent.extra_headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/u/")
