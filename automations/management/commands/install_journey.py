from django.core.management.base import BaseCommand, CommandError

from automations import services
from automations.journey_templates import TEMPLATES


class Command(BaseCommand):
    help = "Install a shipped journey template and print its id."

    def add_arguments(self, parser) -> None:
        parser.add_argument("template", choices=sorted(TEMPLATES))
        parser.add_argument("--list", default="", help="Slug of the list the journey starts from (welcome needs one).")
        parser.add_argument("--activate", action="store_true", help="Go live at once.")

    def handle(self, *args, **options) -> None:
        try:
            journey = services.install(options["template"], list_slug=options["list"], activate_now=options["activate"])
        except services.JourneyError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(str(journey.pk))
