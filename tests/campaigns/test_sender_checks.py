"""Sender domain checks: SPF, DKIM, DMARC, alignment and bounce MX, answered by a DNS stub on
loopback (never the network), the sender page that shows them, and the campaign lint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from campaigns import sender_checks
from campaigns.lint import lint
from devtools.dns_stub import DnsStub
from tests.factories import CampaignFactory, SenderIdentityFactory, UserFactory

pytestmark = pytest.mark.django_db

RELAY = "include:_spf.relay.example.net"


@pytest.fixture
def dns_table(dkim_keys) -> dict:
    """A domain that does everything right; tests break one record each."""
    return {
        "bounces.example.com": {"TXT": [f"v=spf1 {RELAY} ~all"], "MX": ["mx.example.com"]},
        "_dmarc.example.com": {"TXT": ["v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"]},
        **dkim_keys.records("example.com"),
    }


@pytest.fixture
def run(settings, dkim_keys, dns_table) -> Iterator:
    """Check a sender against ``dns_table`` as it stands when called."""
    settings.BOUNCE_DOMAIN, settings.SENDER_SPF_INCLUDE = "bounces.example.com", RELAY
    settings.DKIM_SELECTOR, settings.DKIM_DOMAIN, settings.DKIM_PRIVATE_KEY_PATH = "s1", "", dkim_keys.rsa_path
    settings.DKIM_ED25519_SELECTOR, settings.DKIM_ED25519_PRIVATE_KEY_PATH = "ed1", dkim_keys.ed25519_path
    settings.DNS_TIMEOUT = 0.3
    stubs = []

    def check(email: str = "news@example.com"):
        stub = DnsStub(dns_table).start()
        stubs.append(stub)
        settings.DNS_NAMESERVERS = [stub.address]
        sender = SenderIdentityFactory(email=email, verified=False)
        checks = {check.key: check for check in sender_checks.check_sender(sender)}
        sender.refresh_from_db()
        return sender, checks

    yield check
    for stub in stubs:
        stub.stop()


def failed(checks: dict) -> set[str]:
    return {key for key, check in checks.items() if not check.passed}


def test_a_domain_without_records_fails_every_check_with_the_record_to_publish(run, dns_table, dkim_keys):
    dns_table.clear()

    sender, checks = run()

    assert not sender.verified
    assert failed(checks) == {"spf", "dkim_rsa", "dkim_ed25519", "dmarc", "bounce_mx"}
    assert checks["spf"].record_value == f"v=spf1 {RELAY} ~all"
    assert checks["dkim_rsa"].record_name == "s1._domainkey.example.com"
    assert checks["dkim_rsa"].record_value == dkim_keys.records()["s1._domainkey.example.com"]["TXT"][0]
    assert checks["dmarc"].record_name == "_dmarc.example.com"
    assert checks["dmarc"].record_value.startswith("v=DMARC1; p=none;")
    assert (checks["bounce_mx"].record_name, checks["bounce_mx"].record_type) == ("bounces.example.com", "MX")


def test_spf_that_does_not_include_the_relay_fails(run, dns_table):
    dns_table["bounces.example.com"]["TXT"] = ["v=spf1 mx -all"]

    sender, checks = run()

    assert failed(checks) == {"spf"} and not sender.verified


def test_two_spf_records_fail(run, dns_table):
    dns_table["bounces.example.com"]["TXT"] = [f"v=spf1 {RELAY} ~all", "v=spf1 mx ~all"]

    assert failed(run()[1]) == {"spf"}


def test_a_published_dkim_key_that_is_not_ours_fails(run, dns_table, tmp_path):
    other = dns_table["ed1._domainkey.example.com"]["TXT"][0].replace("k=ed25519", "k=rsa")
    dns_table["s1._domainkey.example.com"] = {"TXT": [other]}

    _, checks = run()

    assert failed(checks) == {"dkim_rsa"}
    assert "not the key" in checks["dkim_rsa"].detail


def test_no_dmarc_record_fails(run, dns_table):
    del dns_table["_dmarc.example.com"]

    assert failed(run()[1]) == {"dmarc"}


def test_a_from_domain_not_aligned_with_the_dkim_domain_fails(run, dns_table, settings, dkim_keys):
    dns_table.update(dkim_keys.records("example.net"))
    dns_table["_dmarc.example.org"] = dns_table["_dmarc.example.com"]

    settings.DKIM_DOMAIN = "example.net"
    _, checks = run("news@example.org")

    assert failed(checks) == {"alignment"}


def test_a_null_mx_on_the_bounce_domain_fails(run, dns_table):
    dns_table["bounces.example.com"] = "null-mx"

    assert failed(run()[1]) == {"spf", "bounce_mx"}


def test_a_dns_server_that_does_not_answer_verifies_nothing(run, dns_table):
    dns_table["_dmarc.example.com"] = "timeout"

    sender, checks = run()

    assert failed(checks) == {"dmarc"} and not sender.verified
    assert "did not answer" in checks["dmarc"].detail


def test_a_domain_passing_every_check_is_verified_and_shows_its_dmarc_policy(run):
    sender, checks = run()

    assert failed(checks) == set()
    assert sender.verified and sender.checked_at is not None
    assert "p=quarantine" in checks["dmarc"].detail


def test_dmarc_of_the_parent_domain_counts_for_a_subdomain_sender(run, dns_table, dkim_keys, settings):
    settings.DKIM_DOMAIN = "example.com"

    sender, checks = run("news@mail.example.com")

    assert sender.verified, failed(checks)


def test_a_verified_sender_whose_records_disappear_is_no_longer_verified(run, dns_table):
    sender, _ = run()
    del dns_table["s1._domainkey.example.com"]

    sender, checks = run()

    assert not sender.verified and failed(checks) == {"dkim_rsa"}


def test_without_a_signing_key_the_dkim_check_fails(run, settings):
    settings.DKIM_SELECTOR = settings.DKIM_ED25519_SELECTOR = ""

    _, checks = run()

    assert failed(checks) == {"dkim"}


def test_campaign_lint_warns_on_a_sender_failing_its_checks(run, dns_table):
    del dns_table["_dmarc.example.com"]
    sender, _ = run()

    issues = [issue for issue in lint(CampaignFactory(sender=sender)) if issue.code == "sender_unverified"]

    assert len(issues) == 1 and not issues[0].blocking
    assert "DMARC for example.com" in issues[0].message


def test_campaign_lint_is_silent_for_a_verified_sender(run):
    sender, _ = run()

    assert "sender_unverified" not in {issue.code for issue in lint(CampaignFactory(sender=sender))}


def test_the_sender_page_runs_the_checks_and_shows_each_record_to_publish(run, client, dns_table):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    del dns_table["bounces.example.com"]
    sender, _ = run()
    url = reverse("senders:checks", args=[sender.pk])

    response = client.post(url, follow=True)

    page = response.content.decode()
    assert response.status_code == 200 and "not verified" in page
    assert f'bounces.example.com. IN TXT "v=spf1 {RELAY} ~all"' in page
    assert "bounces.example.com. IN MX 10 &lt;the host that receives your bounces&gt;." in page
    assert page.count('data-check="') == 6


def test_the_sender_page_says_when_the_checks_never_ran(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    sender = SenderIdentityFactory(verified=False)

    response = client.get(reverse("senders:checks", args=[sender.pk]))

    assert response.status_code == 200 and "have not been run yet" in response.content.decode()


def test_the_sender_edit_page_links_to_the_domain_checks(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    sender = SenderIdentityFactory()

    response = client.get(reverse("senders:edit", args=[sender.pk]))

    assert reverse("senders:checks", args=[sender.pk]) in response.content.decode()


def test_changing_a_verified_senders_address_needs_the_checks_again(run, client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    sender, _ = run()
    form = {"name": sender.name, "email": "news@elsewhere.example", "reply_to": "", "postal_address": ""}

    client.post(reverse("senders:edit", args=[sender.pk]), form)

    sender.refresh_from_db()
    assert sender.email == "news@elsewhere.example"
    assert not sender.verified and sender.checked_at is None and sender.dns_checks == []


def test_editing_a_verified_senders_name_keeps_it_verified(run, client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    sender, _ = run()
    form = {"name": "Renamed", "email": sender.email, "reply_to": "", "postal_address": ""}

    client.post(reverse("senders:edit", args=[sender.pk]), form)

    sender.refresh_from_db()
    assert sender.name == "Renamed" and sender.verified


def test_the_sender_page_needs_the_change_permission(client):
    client.force_login(UserFactory(is_staff=True))
    sender = SenderIdentityFactory()

    assert client.post(reverse("senders:checks", args=[sender.pk])).status_code in {302, 403}


def test_check_sender_command_refuses_an_unknown_sender():
    with pytest.raises(CommandError, match="no sender"):
        call_command("check_sender", "nobody@example.com")


def test_check_sender_command_prints_the_checks_as_json(run, settings):
    sender, _ = run()
    out = StringIO()

    call_command("check_sender", sender.email, "--json", stdout=out)

    document = json.loads(out.getvalue())
    assert document["verified"] is True
    assert [check["key"] for check in document["checks"]] == [
        "spf",
        "dkim_rsa",
        "dkim_ed25519",
        "dmarc",
        "alignment",
        "bounce_mx",
    ]
