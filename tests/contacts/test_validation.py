"""Address validation: every reason, the DNS rules, caching, and the validate_emails command."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from contacts.validation import DomainChecker, Reason, suggest_domain, validate_address
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_malformed_address_is_invalid_syntax_without_a_normalised_form():
    verdict = validate_address("someone@@example.com", check_dns=False)
    assert (verdict.valid, verdict.reason, verdict.normalized) == (False, Reason.INVALID_SYNTAX, None)


def test_reserved_special_use_domain_is_invalid_syntax():
    assert validate_address("someone@host.test", check_dns=False).reason == Reason.INVALID_SYNTAX


def test_disposable_provider_is_rejected():
    verdict = validate_address("temp@mailinator.com", check_dns=False)
    assert (verdict.valid, verdict.reason) == (False, Reason.DISPOSABLE)


@pytest.mark.parametrize(
    ("address", "suggestion"),
    [
        ("ann@gmial.com", "ann@gmail.com"),
        ("ann@hotmial.com", "ann@hotmail.com"),
        ("ann@yahooo.com", "ann@yahoo.com"),
        ("ann@outlook.con", "ann@outlook.com"),
    ],
)
def test_misspelt_popular_domain_is_rejected_with_a_suggestion(address, suggestion):
    verdict = validate_address(address, check_dns=False)
    assert (verdict.valid, verdict.reason, verdict.suggestion) == (False, Reason.TYPO, suggestion)


@pytest.mark.parametrize("domain", ["gmail.com", "mail.com", "me.com", "example.com", "gmx.net"])
def test_real_domains_are_not_taken_for_typos(domain):
    assert suggest_domain(domain) is None


def test_role_account_is_valid_but_flagged():
    verdict = validate_address("Sales@Example.com", check_dns=False)
    assert (verdict.valid, verdict.reason, verdict.normalized) == (True, Reason.ROLE_ACCOUNT, "sales@example.com")


def test_good_address_is_normalised_to_lower_case():
    verdict = validate_address("  Ann.Lee@Example.COM ", check_dns=False)
    assert (verdict.valid, verdict.reason, verdict.normalized) == (True, None, "ann.lee@example.com")


def test_internationalised_address_keeps_its_unicode_form(dns_stub):
    verdict = validate_address("ünï@例え.jp")
    assert (verdict.valid, verdict.normalized, verdict.domain_status) == (True, "ünï@例え.jp", "ok")


def test_nonexistent_domain_is_rejected(dns_stub):
    verdict = validate_address("ann@no-such-domain.example.net")
    assert (verdict.valid, verdict.reason) == (False, Reason.NO_SUCH_DOMAIN)


def test_null_mx_domain_is_rejected(dns_stub):
    verdict = validate_address("ann@null-mx.example.net")
    assert (verdict.valid, verdict.reason) == (False, Reason.NO_MAIL_SERVER)


def test_domain_without_mx_or_address_records_is_rejected(dns_stub):
    assert validate_address("ann@no-records.example.net").reason == Reason.NO_MAIL_SERVER


def test_domain_with_only_an_a_record_accepts_mail(dns_stub):
    verdict = validate_address("ann@a-only.example.net")
    assert (verdict.valid, verdict.reason, verdict.domain_status) == (True, None, "ok")


def test_dns_timeout_keeps_the_address_as_unverified(dns_stub):
    verdict = validate_address("ann@slow.example.net")
    assert (verdict.valid, verdict.reason, verdict.domain_status) == (True, Reason.UNVERIFIED, "unverified")


def test_unreachable_resolver_keeps_the_address_as_unverified(settings, dns_stub):
    dns_stub.stop()
    verdict = validate_address("ann@example.com")
    assert (verdict.valid, verdict.reason) == (True, Reason.UNVERIFIED)


def test_dns_check_can_be_switched_off_by_setting(settings, dns_stub):
    settings.EMAIL_CHECK_DNS = False
    verdict = validate_address("ann@no-such-domain.example.net")
    assert (verdict.valid, verdict.domain_status) == (True, "unchecked")
    assert dns_stub.queries == {}


def test_each_domain_is_looked_up_once_per_run(dns_stub):
    checker = DomainChecker()
    for name in ("ann", "bob", "cy"):
        validate_address(f"{name}@example.com", checker=checker)
    assert dns_stub.queries["example.com"] == 1


def test_definite_verdicts_are_shared_between_runs_through_redis(dns_stub):
    validate_address("ann@no-such-domain.example.net", checker=DomainChecker())
    validate_address("bob@no-such-domain.example.net", checker=DomainChecker())
    assert dns_stub.queries["no-such-domain.example.net"] == 1


def test_timeouts_are_not_cached_so_the_next_run_checks_again(dns_stub):
    validate_address("ann@slow.example.net", checker=DomainChecker())
    validate_address("ann@slow.example.net", checker=DomainChecker())
    assert dns_stub.queries["slow.example.net"] >= 2


def test_validate_emails_command_without_addresses_fails():
    with pytest.raises(CommandError):
        call_command("validate_emails", "--json")


def test_validate_emails_json_prints_one_object_per_address(capsys, dns_stub):
    call_command("validate_emails", "ann@gmial.com", "bob@example.com", "--json")
    verdicts = json.loads(capsys.readouterr().out)
    assert verdicts == [
        {
            "input": "ann@gmial.com",
            "normalized": "ann@gmial.com",
            "valid": False,
            "reason": "typo",
            "suggestion": "ann@gmail.com",
        },
        {
            "input": "bob@example.com",
            "normalized": "bob@example.com",
            "valid": True,
            "reason": None,
            "suggestion": None,
        },
    ]


def test_validate_emails_no_dns_skips_the_domain_check(capsys, dns_stub):
    call_command("validate_emails", "ann@no-such-domain.example.net", "--no-dns", "--json")
    assert json.loads(capsys.readouterr().out)[0]["valid"] is True
    assert dns_stub.queries == {}


def test_the_same_address_in_another_case_cannot_be_stored_twice():
    ContactFactory(email="ann@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(email="Ann@Example.com")


def test_a_dead_resolver_stops_being_asked_after_a_few_timeouts(settings, dns_stub):
    dns_stub.default = "timeout"
    checker = DomainChecker()
    verdicts = [validate_address(f"ann@dead{number}.example.net", checker=checker) for number in range(8)]
    assert {verdict.reason for verdict in verdicts} == {Reason.UNVERIFIED}
    assert sum(dns_stub.queries.values()) <= DomainChecker.MAX_CONSECUTIVE_FAILURES * 3
    assert "dead7.example.net" not in dns_stub.queries
