import json

from django.core.management.base import BaseCommand, CommandParser

from sales import grades


class Command(BaseCommand):
    help = "Preview (--dry-run) or apply the saved grade rules now; manual grades are kept."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count who would move.")
        parser.add_argument("--json", action="store_true", help="Print the result as one JSON document.")

    def handle(self, *args, **options) -> None:
        moves = grades.preview()
        moved = None if options["dry_run"] else grades.apply()
        if options["json"]:
            document = {"moves": [{"from": m.old, "to": m.new, "count": m.count} for m in moves], "applied": moved}
            self.stdout.write(json.dumps(document))
            return
        for move in moves:
            self.stdout.write(str(move))
        if moved is not None:
            self.stdout.write(f"{moved} contacts regraded")
