"""Fixtures for the contacts tests: a local DNS stub standing in for the internet's DNS."""

import uuid
from collections.abc import Iterator

import pytest

from devtools.dns_stub import DnsStub

DNS_TABLE = {
    "example.com": {"MX": ["mx.example.com"]},
    "example.org": {"MX": ["mx.example.org"]},
    "a-only.example.net": {"A": ["192.0.2.10"]},
    "null-mx.example.net": "null-mx",
    "no-records.example.net": {},
    "slow.example.net": "timeout",
    "例え.jp": {"MX": ["mx.example.jp"]},
}


@pytest.fixture
def dns_stub(settings, monkeypatch) -> Iterator[DnsStub]:
    """A real UDP DNS server on loopback answering from DNS_TABLE; unknown domains are NXDOMAIN.

    DNS is the one thing outside this machine the contacts code talks to, so it is the one
    thing these tests replace, with a real server rather than a mock.
    """
    table = {name.encode("idna").decode(): answer for name, answer in DNS_TABLE.items()}
    with DnsStub(table) as stub:
        settings.DNS_NAMESERVERS = [stub.address]
        settings.DNS_TIMEOUT = 0.3
        settings.EMAIL_CHECK_DNS = True
        # A fresh cache namespace per test: verdicts cached by an earlier test must not answer for this one.
        monkeypatch.setattr("contacts.validation.CACHE_PREFIX", f"dns-test:{uuid.uuid4().hex}:")
        yield stub
