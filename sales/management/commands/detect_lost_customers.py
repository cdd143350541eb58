import json

from django.core.management.base import BaseCommand, CommandParser

from sales.lost import detect_lost_customers


class Command(BaseCommand):
    help = "Run the nightly lost-customer job now: flag drifting and lost customers, record recoveries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the counts as one JSON document.")

    def handle(self, *args, **options) -> None:
        outcome = detect_lost_customers()
        if options["json"]:
            self.stdout.write(json.dumps(outcome.as_json()))
            return
        self.stdout.write(
            f"{outcome.drifting} newly drifting, {outcome.lost} newly lost, {outcome.recovered} recovered, "
            f"{outcome.tasks_created} tasks created"
        )
