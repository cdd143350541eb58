from django.core.management.base import BaseCommand, CommandError

from automations import services
from automations.models import Journey
from contacts.models import Contact


class Command(BaseCommand):
    help = "Enrol one contact in a journey by hand (the journey's re-entry policy applies)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("journey_id", type=int)

    def handle(self, *args, **options) -> None:
        contact = Contact.objects.filter(email__iexact=options["email"].strip()).first()
        if contact is None:
            raise CommandError(f"no contact with the address {options['email']}")
        journey = Journey.objects.select_related("current_version").filter(pk=options["journey_id"]).first()
        if journey is None:
            raise CommandError(f"no journey with id {options['journey_id']}")
        try:
            entered = services.enrol_one(journey, contact)
        except services.JourneyError as error:
            raise CommandError(str(error)) from None
        if not entered:
            raise CommandError(f"{contact.email} was not enrolled: already inside, re-entry refused, or not subscribed")
        self.stdout.write(f"enrolled {contact.email} in journey {journey.pk}")
