"""`make mailbox`: the mail the local SMTP sink kept (var/mail), decoded for reading."""

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# The listing shows the start of each text part; `mailbox N` shows all of it.
PREVIEW_LINES = 12


def arrival(path: Path) -> tuple[int, str]:
    return path.stat().st_mtime_ns, path.name


def read_message(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)


def text_part(message: EmailMessage) -> str:
    """The text/plain part with its transfer encoding and charset undone."""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return "(no text part)"
    try:
        return part.get_content().strip()
    except (LookupError, UnicodeError) as error:
        return f"(text part not decodable: {error})"


class Command(BaseCommand):
    help = "Show the mail kept by the local SMTP sink (var/mail), newest first, decoded; or message N in full."

    def add_arguments(self, parser) -> None:
        parser.add_argument("number", nargs="?", type=int, help="Show message N of the list (1 = newest) in full.")
        parser.add_argument("--limit", type=int, default=10, help="How many messages the list shows (default 10).")
        parser.add_argument("--raw", action="store_true", help="With N: print the message's bytes as received.")

    def handle(self, *args, number: int | None = None, limit: int = 10, raw: bool = False, **options) -> None:
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        # Names carry the time to the second only; the modification time orders a busy second.
        files = sorted((settings.VAR_DIR / "mail").glob("*.eml"), key=arrival, reverse=True)
        if number is not None:
            if not 1 <= number <= len(files):
                raise CommandError(f"no message {number}: the mailbox holds {len(files)}")
            path = files[number - 1]
            if raw:
                self.stdout.write(path.read_bytes().decode("utf-8", "replace"))
            else:
                self.write_message(number, read_message(path), lines=None)
            return
        if not files:
            self.stdout.write("The mailbox is empty: nothing was sent to the local SMTP sink yet.")
            return
        shown = files[:limit]
        self.stdout.write(
            f"Showing {len(shown)} of {len(files)} messages, newest first. "
            f"`python manage.py mailbox N` shows message N in full (--raw as received)."
        )
        for position, path in enumerate(shown, start=1):
            self.write_message(position, read_message(path), lines=PREVIEW_LINES)

    def write_message(self, position: int, message: EmailMessage, *, lines: int | None) -> None:
        text = text_part(message).splitlines()
        if lines is not None and len(text) > lines:
            text = [*text[:lines], f"[… {len(text) - lines} more lines]"]
        self.stdout.write(f"\n[{position}] {message['Subject'] or '(no subject)'}")
        for header in ("From", "To", "Date"):
            self.stdout.write(f"    {header + ':':<6}{message[header] or ''}")
        self.stdout.write("")
        self.stdout.write("\n".join(f"    {line}" for line in text))
