from email import policy
from email.parser import BytesParser

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "List the mail kept by the local SMTP sink (var/mail), or print one message."

    def add_arguments(self, parser) -> None:
        parser.add_argument("number", nargs="?", type=int, help="Print message N of the list (1 = newest).")
        parser.add_argument("--limit", type=int, default=20)

    def handle(self, *args, number: int | None = None, limit: int = 20, **options) -> None:
        files = sorted((settings.VAR_DIR / "mail").glob("*.eml"), reverse=True)
        if number is not None:
            if not 1 <= number <= len(files):
                raise CommandError(f"no message {number}: the mailbox holds {len(files)}")
            self.stdout.write(files[number - 1].read_bytes().decode("utf-8", "replace"))
            return
        if not files:
            self.stdout.write("The mailbox is empty.")
            return
        parser = BytesParser(policy=policy.default)
        for position, path in enumerate(files[:limit], start=1):
            with path.open("rb") as handle:
                headers = parser.parse(handle, headersonly=True)
            self.stdout.write(
                f"{position:>3}  {headers['Date'] or ''}  {headers['To'] or ''}  {headers['Subject'] or ''}"
            )
