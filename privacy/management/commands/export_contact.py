"""manage.py export_contact EMAIL [--out PATH]: a person's data as a zip archive (JSON + CSV)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from privacy import services
from privacy.models import DataRequest


class Command(BaseCommand):
    help = "Write everything Rapport holds about one contact to a zip archive (JSON and CSV)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--out", help="Where to write the archive (default: contact-<id>-data-<date>.zip here).")

    def handle(self, *args, email: str, out: str | None, **options) -> None:
        contact = services.find_contact(email)
        if contact is None:
            raise CommandError(f"no contact with the address {email}")
        path = Path(out) if out else Path(services.archive_name(contact))
        if not path.parent.is_dir():
            raise CommandError(f"{path.parent} is not a directory")
        with path.open("wb") as handle:
            for chunk in services.export_archive(contact, channel=DataRequest.Channel.COMMAND):
                handle.write(chunk)
        self.stdout.write(str(path))
