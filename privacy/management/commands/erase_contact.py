"""manage.py erase_contact EMAIL --yes: erase a person's data for good (anonymised in place)."""

from django.core.management.base import BaseCommand, CommandError

from privacy import services
from privacy.models import DataRequest


class Command(BaseCommand):
    help = "Erase one contact's personal data everywhere; campaign totals stay. Cannot be undone."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--yes", action="store_true", help="Confirm: this cannot be undone.")

    def handle(self, *args, email: str, yes: bool, **options) -> None:
        if not yes:
            raise CommandError("erasure cannot be undone: add --yes to confirm")
        contact = services.find_contact(email)
        if contact is None:
            raise CommandError(f"no contact with the address {email}")
        audit = services.erase(contact, channel=DataRequest.Channel.COMMAND)
        tables = {label: count for label, count in audit.rows.items() if ":" not in label and label != "files"}
        self.stdout.write(
            f"Erased contact #{audit.contact_id}: {sum(tables.values()):,} rows in {len(tables)} tables "
            f"anonymised, {audit.rows.get('files', 0)} files cleaned (data request #{audit.pk})."
        )
