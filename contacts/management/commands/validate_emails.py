import json

from django.core.management.base import BaseCommand, CommandParser

from contacts.validation import DomainChecker, validate_address


class Command(BaseCommand):
    help = "Check addresses: syntax, domain (DNS), disposable, role and typo flags."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addresses", nargs="+", metavar="ADDRESS")
        parser.add_argument("--no-dns", action="store_true", help="Skip the DNS domain check.")
        parser.add_argument("--json", action="store_true", help="Print one JSON array of verdicts.")

    def handle(self, *args, **options) -> None:
        checker = DomainChecker()
        check_dns = False if options["no_dns"] else None
        verdicts = [validate_address(address, check_dns=check_dns, checker=checker) for address in options["addresses"]]
        if options["json"]:
            self.stdout.write(json.dumps([verdict.as_json() for verdict in verdicts], ensure_ascii=False))
            return
        for verdict in verdicts:
            status = "ok" if verdict.valid else "INVALID"
            extra = f" (did you mean {verdict.suggestion}?)" if verdict.suggestion else ""
            self.stdout.write(f"{verdict.input}: {status} {verdict.reason or ''}{extra}".rstrip())
