"""Address validation: syntax and normalisation, domain checks, and the flags marketers need.

Syntax and normalisation (internationalised addresses included) come from email-validator;
the domain check asks DNS directly with dnspython, because an unreachable or slow resolver
must leave the address *unverified* rather than rejected, which email-validator's own
deliverability check does not distinguish.

Verdicts, in the order they are checked (the first that applies wins):

==================  =====  ===========================================================
reason              valid  meaning
==================  =====  ===========================================================
``invalid_syntax``  no     not an address (email-validator's message in ``detail``)
``typo``            no     the domain looks like a misspelt popular one; see ``suggestion``
``disposable``      no     a throwaway-inbox provider (disposable-email-domains list)
``no_such_domain``  no     DNS says the domain does not exist (NXDOMAIN)
``no_mail_server``  no     null MX (RFC 7505), or neither MX nor A/AAAA records
``unverified``      yes    DNS did not answer in time or could not be reached: kept, re-checked later
``role_account``    yes    info@, sales@...: deliverable, but a team rather than a person
(none)              yes    good address
==================  =====  ===========================================================

One DNS verdict is fetched per domain per run (:class:`DomainChecker` memoises it) and
definite verdicts are shared between runs through the Redis cache for ``CACHE_TTL``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

import dns.exception
import dns.nameserver
import dns.resolver
from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS  # noqa: N812
from django.conf import settings
from django.core.cache import cache
from email_validator import EmailNotValidError, validate_email

CACHE_TTL = 24 * 3600
CACHE_PREFIX = "dns-domain:v1:"


class Reason(StrEnum):
    INVALID_SYNTAX = "invalid_syntax"
    DISPOSABLE = "disposable"
    TYPO = "typo"
    NO_SUCH_DOMAIN = "no_such_domain"
    NO_MAIL_SERVER = "no_mail_server"
    UNVERIFIED = "unverified"
    ROLE_ACCOUNT = "role_account"


class DomainStatus(StrEnum):
    OK = "ok"
    NO_SUCH_DOMAIN = "no_such_domain"
    NO_MAIL_SERVER = "no_mail_server"
    UNVERIFIED = "unverified"
    UNCHECKED = "unchecked"


ROLE_LOCAL_PARTS = frozenset(
    [
        "abuse",
        "accounts",
        "admin",
        "administrator",
        "billing",
        "contact",
        "contactus",
        "customerservice",
        "enquiries",
        "enquiry",
        "hello",
        "help",
        "helpdesk",
        "hostmaster",
        "hr",
        "info",
        "inquiries",
        "jobs",
        "mail",
        "marketing",
        "media",
        "news",
        "newsletter",
        "no-reply",
        "noc",
        "noreply",
        "office",
        "orders",
        "postmaster",
        "press",
        "privacy",
        "recruitment",
        "sales",
        "security",
        "service",
        "support",
        "team",
        "webmaster",
    ]
)

# Popular mailbox providers: a domain one keystroke away from one of these is almost always a typo.
POPULAR_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "protonmail.com",
        "proton.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "sohu.com",
        "foxmail.com",
        "yeah.net",
        "hanmail.net",
        "naver.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "t-online.de",
        "zoho.com",
        "fastmail.com",
    ]
)
TLD_TYPOS = {"con": "com", "cmo": "com", "ocm": "com", "vom": "com", "xom": "com", "comm": "com", "nte": "net"}
# Short domains sit one edit away from too many real ones to guess safely.
MIN_TYPO_CHECK_LENGTH = 8


@dataclass
class Verdict:
    input: str
    normalized: str | None
    valid: bool
    reason: str | None = None
    suggestion: str | None = None
    detail: str = ""
    domain_status: str = DomainStatus.UNCHECKED
    ascii_domain: str = field(default="", repr=False)

    def as_json(self) -> dict[str, Any]:
        """The public shape of a verdict (the validate_emails --json contract)."""
        data = asdict(self)
        return {key: data[key] for key in ("input", "normalized", "valid", "reason", "suggestion")}


def parse_nameservers(entries: list[str]) -> list[dns.nameserver.Nameserver]:
    """``host[:port]`` entries (``[v6]:port`` for IPv6) as dnspython nameservers."""
    servers = []
    for entry in entries:
        host, port = entry, 53
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = int(rest.lstrip(":") or 53)
        elif entry.count(":") == 1:
            host, _, port_text = entry.partition(":")
            port = int(port_text)
        servers.append(dns.nameserver.Do53Nameserver(host, port))
    return servers


def build_resolver() -> dns.resolver.Resolver:
    """The system resolver, or the servers named by DNS_NAMESERVERS, bounded by DNS_TIMEOUT."""
    if settings.DNS_NAMESERVERS:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = parse_nameservers(settings.DNS_NAMESERVERS)
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = resolver.lifetime = settings.DNS_TIMEOUT
    return resolver


class DomainChecker:
    """DNS verdicts per domain: memoised for this run, definite ones shared through Redis.

    After ``MAX_CONSECUTIVE_FAILURES`` lookups in a row fail (timeout, resolver down), the
    rest of the run stops asking and marks new domains unverified: a dead resolver would
    otherwise cost DNS_TIMEOUT for every domain of an import.
    """

    MAX_CONSECUTIVE_FAILURES = 5

    def __init__(self, resolver: dns.resolver.Resolver | None = None) -> None:
        self._resolver = resolver
        self._memo: dict[str, DomainStatus] = {}
        self._failures = 0

    def check(self, ascii_domain: str) -> DomainStatus:
        status = self._memo.get(ascii_domain)
        if status is None:
            cached = cache.get(CACHE_PREFIX + ascii_domain)
            status = DomainStatus(cached) if cached else self._lookup_unless_resolver_is_down(ascii_domain)
            if not cached and status != DomainStatus.UNVERIFIED:
                cache.set(CACHE_PREFIX + ascii_domain, status.value, CACHE_TTL)
            self._memo[ascii_domain] = status
        return status

    def _lookup_unless_resolver_is_down(self, domain: str) -> DomainStatus:
        if self._failures >= self.MAX_CONSECUTIVE_FAILURES:
            return DomainStatus.UNVERIFIED
        status = self._lookup(domain)
        self._failures = self._failures + 1 if status == DomainStatus.UNVERIFIED else 0
        return status

    def _lookup(self, domain: str) -> DomainStatus:
        try:
            resolver = self._resolver or build_resolver()
            self._resolver = resolver
            try:
                answer = resolver.resolve(domain, "MX")
            except dns.resolver.NoAnswer:
                return self._address_records(resolver, domain)
            exchanges = [record.exchange.to_text() for record in answer]
            if all(exchange == "." for exchange in exchanges):
                return DomainStatus.NO_MAIL_SERVER
            return DomainStatus.OK
        except dns.resolver.NXDOMAIN:
            return DomainStatus.NO_SUCH_DOMAIN
        except (dns.exception.DNSException, OSError):
            # Timeout, SERVFAIL everywhere, no resolver configured: not the address's fault.
            return DomainStatus.UNVERIFIED

    @staticmethod
    def _address_records(resolver: dns.resolver.Resolver, domain: str) -> DomainStatus:
        """RFC 5321 §5.1: without MX, mail goes to the domain's A/AAAA address."""
        for record_type in ("A", "AAAA"):
            try:
                resolver.resolve(domain, record_type)
                return DomainStatus.OK
            except dns.resolver.NoAnswer:
                continue
        return DomainStatus.NO_MAIL_SERVER


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    """Optimal string alignment distance <= 1 (one insertion, deletion, substitution or swap)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    rest_a, rest_b = a[prefix:], b[prefix:]
    swapped = len(a) == len(b) and len(rest_a) >= 2 and rest_a[1] + rest_a[0] == rest_b[:2]
    return (
        rest_a[1:] == rest_b[1:]  # substitution
        or rest_a[1:] == rest_b  # deletion from a
        or rest_a == rest_b[1:]  # insertion into a
        or (swapped and rest_a[2:] == rest_b[2:])
    )


@lru_cache(maxsize=8192)
def suggest_domain(domain: str) -> str | None:
    """The popular domain this one is probably a misspelling of, if any."""
    if domain in POPULAR_DOMAINS:
        return None
    name, _, tld = domain.rpartition(".")
    if tld in TLD_TYPOS:
        return f"{name}.{TLD_TYPOS[tld]}"
    if len(domain) < MIN_TYPO_CHECK_LENGTH:
        return None
    return next((popular for popular in sorted(POPULAR_DOMAINS) if _edit_distance_at_most_one(domain, popular)), None)


def validate_address(address: str, *, check_dns: bool | None = None, checker: DomainChecker | None = None) -> Verdict:
    """Validate one address. ``check_dns`` defaults to the EMAIL_CHECK_DNS setting; pass one
    ``checker`` for a whole run so each domain is looked up once."""
    text = address.strip()
    try:
        parsed = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        return Verdict(address, None, False, Reason.INVALID_SYNTAX, detail=str(error))
    # Local parts are case-sensitive in theory and never in practice; one address, one contact.
    normalized = parsed.normalized.lower()
    domain = parsed.domain.lower()
    verdict = Verdict(address, normalized, True, ascii_domain=parsed.ascii_domain.lower())
    # Typo before disposable: squatters register misspellings of big providers as throwaway inboxes.
    suggestion = suggest_domain(domain)
    if suggestion:
        verdict.suggestion = f"{parsed.local_part.lower()}@{suggestion}"
        return _reject(verdict, Reason.TYPO)
    if domain in DISPOSABLE_DOMAINS or verdict.ascii_domain in DISPOSABLE_DOMAINS:
        return _reject(verdict, Reason.DISPOSABLE)
    if settings.EMAIL_CHECK_DNS if check_dns is None else check_dns:
        verdict.domain_status = (checker or DomainChecker()).check(verdict.ascii_domain)
        if verdict.domain_status in (DomainStatus.NO_SUCH_DOMAIN, DomainStatus.NO_MAIL_SERVER):
            return _reject(verdict, Reason(verdict.domain_status.value))
        if verdict.domain_status == DomainStatus.UNVERIFIED:
            verdict.reason = Reason.UNVERIFIED
    if parsed.local_part.lower() in ROLE_LOCAL_PARTS:
        verdict.reason = Reason.ROLE_ACCOUNT
    return verdict


def _reject(verdict: Verdict, reason: Reason) -> Verdict:
    verdict.valid, verdict.reason = False, reason
    return verdict
