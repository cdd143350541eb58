"""Fixtures for the send pipeline: a campaign with an audience."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import dkim
import dns.exception
import dns.resolver
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from campaigns import signing
from campaigns.models import Campaign
from contacts.models import Contact, Subscription
from devtools.dns_stub import DnsStub
from tests.factories import CampaignFactory, MailingListFactory


def campaign_for(emails: list[str], **fields) -> Campaign:
    """A draft campaign whose audience is exactly ``emails`` (one list, created in bulk)."""
    mailing_list = MailingListFactory()
    contacts = Contact.objects.bulk_create(
        Contact(email=email, email_domain=email.rpartition("@")[2], first_name=f"N{number}")
        for number, email in enumerate(emails)
    )
    Subscription.objects.bulk_create(Subscription(contact=contact, mailing_list=mailing_list) for contact in contacts)
    campaign = CampaignFactory(**fields)
    campaign.include_lists.add(mailing_list)
    return campaign


@dataclass(frozen=True)
class DkimKeys:
    rsa_path: str
    ed25519_path: str

    def records(self, domain: str = "example.com") -> dict[str, dict[str, list[str]]]:
        """The TXT records publishing both public keys (selectors s1 and ed1), as a DNS stub table."""
        rsa_key = signing.load_key(self.rsa_path, "s1")
        ed_key = signing.load_key(self.ed25519_path, "ed1", ed25519=True)
        return {
            f"s1._domainkey.{domain}": {"TXT": [rsa_key.dns_record()]},
            f"ed1._domainkey.{domain}": {"TXT": [ed_key.dns_record()]},
        }


@pytest.fixture(scope="session")
def dkim_keys(tmp_path_factory) -> DkimKeys:
    """A fresh RSA-2048 (PKCS#1, as `openssl genrsa` writes it) and Ed25519 (PKCS#8) key file."""
    directory = tmp_path_factory.mktemp("dkim")
    rsa_path, ed_path = directory / "rsa.pem", directory / "ed25519.pem"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    ed_path.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return DkimKeys(str(rsa_path), str(ed_path))


class DkimVerifier:
    """dkimpy's verifier (an implementation independent of ours) reading keys from a DNS stub."""

    def __init__(self, stub: DnsStub) -> None:
        self.resolver = dns.resolver.Resolver(configure=False)
        self.resolver.nameservers = [stub.host]
        self.resolver.port = stub.port

    def _txt(self, name: bytes, timeout: float = 5) -> bytes | None:
        try:
            answer = self.resolver.resolve(name.decode("ascii"), "TXT", lifetime=timeout)
        except dns.exception.DNSException:
            return None
        return b"".join(answer[0].strings)

    def results(self, raw: bytes) -> list[bool]:
        """One verdict per DKIM-Signature of the message, in order."""
        head = raw.partition(b"\r\n\r\n")[0]
        count = len(re.findall(rb"^DKIM-Signature:", head, re.MULTILINE | re.IGNORECASE))
        return [self._verify(raw, index) for index in range(count)]

    def _verify(self, raw: bytes, index: int) -> bool:
        try:
            return dkim.DKIM(raw).verify(idx=index, dnsfunc=self._txt)
        except dkim.DKIMException:
            return False


@pytest.fixture
def dkim_dns(settings, dkim_keys) -> Iterator[DkimVerifier]:
    """Signing on with both keys for example.com, their records served by a DNS stub on loopback."""
    with DnsStub(dkim_keys.records()) as stub:
        settings.DKIM_SELECTOR, settings.DKIM_DOMAIN, settings.DKIM_PRIVATE_KEY_PATH = (
            "s1",
            "example.com",
            dkim_keys.rsa_path,
        )
        settings.DKIM_ED25519_SELECTOR, settings.DKIM_ED25519_PRIVATE_KEY_PATH = "ed1", dkim_keys.ed25519_path
        yield DkimVerifier(stub)
