import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sales.deals import ImportFileError, import_deals


class Command(BaseCommand):
    help = "Import orders from a CSV or XLSX file: email, date, amount; optional currency, status, reference."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH")
        parser.add_argument("--json", action="store_true", help="Print the summary as one JSON document.")

    def handle(self, *args, **options) -> None:
        try:
            summary = import_deals(Path(options["path"]))
        except (ImportFileError, OSError) as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_json(), ensure_ascii=False))
            return
        self.stdout.write("\n".join(summary.as_lines()))
