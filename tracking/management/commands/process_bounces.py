import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracking import bounces


class Command(BaseCommand):
    help = "Classify returned mail (.eml files or mboxes) and, without --dry-run, update the contacts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--dry-run", action="store_true", help="Classify only; change nothing.")
        parser.add_argument("--json", action="store_true", help="Print one JSON document on stdout.")

    def handle(self, *args, **options) -> None:
        paths = [Path(path) for path in options["paths"]]
        missing = [path for path in paths if not path.is_file()]
        if missing:
            raise CommandError(f"not a readable file: {missing[0]}")
        summaries = [summary for path in paths for summary in bounces.process_path(path, dry_run=options["dry_run"])]
        if options["json"]:
            self.stdout.write(json.dumps(summaries))
            return
        for summary in summaries:
            recipients = ", ".join(summary["recipients"]) or "-"
            details = " ".join(filter(None, [summary["status"], summary["reason"]]))
            ignored = f" (ignored: {summary['ignored']})" if "ignored" in summary else ""
            self.stdout.write(f"{summary['file']}: {summary['kind']} {recipients} {details}".rstrip() + ignored)
