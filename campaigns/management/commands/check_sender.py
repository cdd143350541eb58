import json

from django.core.management.base import BaseCommand, CommandError

from campaigns import sender_checks
from campaigns.models import SenderIdentity


class Command(BaseCommand):
    help = "Run the DNS checks of a sender's domain (SPF, DKIM, DMARC, alignment, bounce MX); verify it if all pass."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, email: str, **options) -> None:
        sender = SenderIdentity.objects.filter(email__iexact=email.strip()).first()
        if sender is None:
            raise CommandError(f"no sender {email}")
        checks = sender_checks.check_sender(sender)
        if options["json"]:
            document = {"email": sender.email, "verified": sender.verified, "checks": [c.as_json() for c in checks]}
            self.stdout.write(json.dumps(document))
            return
        for check in checks:
            self.stdout.write(f"{'ok  ' if check.passed else 'FAIL'} {check.label}: {check.detail}")
            if not check.passed and check.record_value:
                self.stdout.write(f"     publish: {check.record_name}. IN {check.record_type} {check.record_value}")
        self.stdout.write(f"{sender.email} is {'verified' if sender.verified else 'not verified'}")
