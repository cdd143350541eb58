import contextlib
import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.importer import ImportFileError, import_file
from contacts.models import MailingList


class Command(BaseCommand):
    help = "Import contacts from a CSV or XLSX file; existing contacts are updated, never duplicated."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH")
        parser.add_argument(
            "--list", dest="list_slug", metavar="SLUG", help="Also subscribe the contacts to this list."
        )
        parser.add_argument("--no-dns", action="store_true", help="Skip the DNS domain check.")
        parser.add_argument("--json", action="store_true", help="Print the summary as one JSON document.")
        parser.add_argument(
            "--errors-csv",
            metavar="PATH",
            help="Write every refused row to this CSV file (the summary keeps only the first ones).",
        )

    def handle(self, *args, **options) -> None:
        mailing_list = None
        if options["list_slug"]:
            mailing_list = MailingList.objects.filter(slug=options["list_slug"]).first()
            if mailing_list is None:
                raise CommandError(f"no mailing list with slug {options['list_slug']!r}")
        try:
            with contextlib.ExitStack() as stack:
                report = None
                if options["errors_csv"]:
                    report = stack.enter_context(
                        Path(options["errors_csv"]).open("w", encoding="utf-8-sig", newline="")
                    )
                    csv.writer(report).writerow(["row", "email", "reason"])
                summary = import_file(
                    Path(options["path"]),
                    mailing_list=mailing_list,
                    check_dns=False if options["no_dns"] else None,
                    error_report=report,
                )
        except (ImportFileError, OSError) as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_json(), ensure_ascii=False))
            return
        self.stdout.write("\n".join(summary.as_lines(" (see --errors-csv)")))
