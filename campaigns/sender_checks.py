"""DNS checks of a sender's domain: what Gmail and Yahoo require of bulk senders.

- SPF on the envelope (MAIL FROM) domain, which is BOUNCE_DOMAIN since bounces come back by
  VERP, authorising the relay (SENDER_SPF_INCLUDE, when set);
- a DKIM public key at ``<selector>._domainkey.<domain>`` equal to ours, for each signing key;
- a DMARC record for the From domain (its policy is shown);
- the From domain aligned with the DKIM ``d=`` domain (DMARC relaxed alignment);
- an MX for the bounce domain, so bounces reach us.

Lookups go through dnspython with DNS_NAMESERVERS (contacts.validation.build_resolver). Each
check carries the exact record to publish when it fails. A sender is verified when all pass.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import dns.exception
import dns.name
import dns.resolver
from django.conf import settings
from django.utils import timezone

from campaigns import signing
from campaigns.models import SenderIdentity
from contacts.validation import build_resolver


class DnsUnavailableError(Exception):
    """The resolver did not answer: the check cannot tell."""


@dataclass(frozen=True)
class Check:
    key: str
    label: str
    passed: bool
    # What DNS says now, or why the check failed.
    detail: str
    # The record to publish (empty when nothing to publish would fix it).
    record_name: str = ""
    record_type: str = ""
    record_value: str = ""

    def as_json(self) -> dict[str, str | bool]:
        return asdict(self)


def _txt(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """The TXT strings at ``name`` (multi-string records joined); none if the name has none."""
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as error:
        raise DnsUnavailableError(f"DNS did not answer for {name} ({error.__class__.__name__})") from None
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def _tags(record: str) -> dict[str, str]:
    """``k=v; k=v`` tag lists (DKIM, DMARC) with white space removed from the values."""
    pairs = (part.split("=", 1) for part in record.split(";") if "=" in part)
    return {key.strip().lower(): re.sub(r"\s+", "", value) for key, value in pairs}


def check_spf(resolver: dns.resolver.Resolver, domain: str) -> Check:
    include = settings.SENDER_SPF_INCLUDE
    suggested = f"v=spf1 {include or 'mx'} ~all"
    label = f"SPF for the bounce domain {domain}"
    records = [record for record in _txt(resolver, domain) if record.lower().startswith("v=spf1")]
    if len(records) != 1:
        problem = "no SPF record" if not records else f"{len(records)} SPF records (receivers treat that as an error)"
        return Check("spf", label, False, problem, domain, "TXT", suggested)
    terms = records[0].lower().split()
    if include and include.lower() not in terms:
        return Check("spf", label, False, f"{records[0]!r} does not contain {include}", domain, "TXT", suggested)
    return Check("spf", label, True, records[0])


def check_dkim(resolver: dns.resolver.Resolver, key: signing.DkimKey, domain: str) -> Check:
    name = f"{key.selector}._domainkey.{domain}"
    check = Check(
        f"dkim_{key.key_type}", f"DKIM {key.key_type} key at {name}", False, "", name, "TXT", key.dns_record()
    )
    records = _txt(resolver, name)
    if not records:
        return _failed(check, "no DKIM record")
    published = _tags(records[0])
    if published.get("k", "rsa") != key.key_type or published.get("p") != key.public_key_base64():
        return _failed(check, "the published key is not the key Rapport signs with")
    return Check(check.key, check.label, True, "the published key matches our private key")


def check_dmarc(resolver: dns.resolver.Resolver, domain: str) -> Check:
    """DMARC of the From domain, or of its parent (the organisational domain, approximated
    without the public-suffix list by the last two labels)."""
    label = f"DMARC for {domain}"
    suggested = f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}"
    parent = ".".join(domain.split(".")[-2:])
    for name in dict.fromkeys([f"_dmarc.{domain}", f"_dmarc.{parent}"]):
        records = [record for record in _txt(resolver, name) if record.upper().startswith("V=DMARC1")]
        if records:
            policy = _tags(records[0]).get("p", "")
            if policy not in {"none", "quarantine", "reject"}:
                return Check("dmarc", label, False, f"{records[0]!r} has no valid p=", name, "TXT", suggested)
            return Check("dmarc", label, True, f"policy p={policy} at {name}")
    return Check("dmarc", label, False, "no DMARC record", f"_dmarc.{domain}", "TXT", suggested)


def check_alignment(from_domain: str, dkim_domain: str) -> Check:
    label = f"From domain {from_domain} aligned with DKIM d={dkim_domain}"
    aligned = from_domain == dkim_domain or from_domain.endswith(f".{dkim_domain}")
    aligned = aligned or dkim_domain.endswith(f".{from_domain}")
    if aligned:
        return Check("alignment", label, True, "aligned (relaxed)")
    return Check("alignment", label, False, f"set DKIM_DOMAIN to {from_domain} or a parent of it")


def check_bounce_mx(resolver: dns.resolver.Resolver, domain: str) -> Check:
    label = f"MX of the bounce domain {domain}"
    check = Check("bounce_mx", label, False, "", domain, "MX", "10 <the host that receives your bounces>.")
    try:
        exchanges = [record.exchange for record in resolver.resolve(domain, "MX")]
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return _failed(check, "no MX record")
    except dns.exception.DNSException as error:
        raise DnsUnavailableError(f"DNS did not answer for {domain} ({error.__class__.__name__})") from None
    hosts = [exchange.to_text(omit_final_dot=True) for exchange in exchanges if exchange != dns.name.root]
    if not hosts:
        return _failed(check, "null MX: the domain accepts no mail")
    return Check("bounce_mx", label, True, ", ".join(hosts))


def _failed(check: Check, detail: str) -> Check:
    return Check(check.key, check.label, False, detail, check.record_name, check.record_type, check.record_value)


def run_checks(email: str, resolver: dns.resolver.Resolver | None = None) -> list[Check]:
    """Every check for a From address, in the order the sender page shows them."""
    resolver = resolver or build_resolver()
    from_domain = email.rpartition("@")[2].lower().encode("idna").decode("ascii")
    bounce_domain = settings.BOUNCE_DOMAIN.lower()
    dkim_domain = (settings.DKIM_DOMAIN or from_domain).lower()
    checks = [_guard(lambda: check_spf(resolver, bounce_domain), "spf", "SPF")]
    try:
        keys = signing.configured_keys()
    except signing.DkimKeyError as error:
        keys, missing = [], str(error)
    else:
        missing = "no signing key: set DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH"
    checks += [_guard(lambda key=key: check_dkim(resolver, key, dkim_domain), "dkim", "DKIM") for key in keys]
    if not keys:
        checks.append(Check("dkim", "DKIM", False, missing))
    checks.append(_guard(lambda: check_dmarc(resolver, from_domain), "dmarc", "DMARC"))
    checks.append(check_alignment(from_domain, dkim_domain))
    checks.append(_guard(lambda: check_bounce_mx(resolver, bounce_domain), "bounce_mx", "Bounce MX"))
    return checks


def _guard(run, key: str, label: str) -> Check:
    try:
        return run()
    except DnsUnavailableError as error:
        return Check(key, label, False, str(error))


def forget(sender: SenderIdentity) -> None:
    """Drop the results (the caller saves): the sender must be checked again to be verified."""
    sender.verified, sender.checked_at, sender.dns_checks = False, None, []


def check_sender(sender: SenderIdentity) -> list[Check]:
    """Run the checks, store them on the sender and verify it only if every one passed."""
    checks = run_checks(sender.email)
    sender.dns_checks = [check.as_json() for check in checks]
    sender.verified = all(check.passed for check in checks)
    sender.checked_at = timezone.now()
    SenderIdentity.objects.filter(pk=sender.pk).update(
        dns_checks=sender.dns_checks, verified=sender.verified, checked_at=sender.checked_at
    )
    return checks
