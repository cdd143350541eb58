import json

from django.core.management.base import BaseCommand, CommandError

from automations import services
from automations.models import Journey


class Command(BaseCommand):
    help = "A journey's status, version and per-step counts (waiting, done, failed, exited)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("journey_id", type=int)
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")

    def handle(self, *args, **options) -> None:
        journey = Journey.objects.select_related("current_version").filter(pk=options["journey_id"]).first()
        if journey is None:
            raise CommandError(f"no journey with id {options['journey_id']}")
        report = services.status(journey)
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"{journey.name}: {report['status']}, version {report['version']}")
        for step in report["steps"]:
            counts = ", ".join(f"{name} {step[name]}" for name in ("waiting", "done", "failed", "exited"))
            self.stdout.write(f"  {step['key']} ({step['kind']}): {counts}")
        self.stdout.write(f"enrolled {report['enrolled']}, completed {report['completed']}")
