from django.core.management.base import BaseCommand, CommandError

from campaigns import delivery
from campaigns.models import Campaign, Message
from contacts.models import Contact


class Command(BaseCommand):
    help = "Print the exact RFC 5322 bytes a contact would receive (headers, DKIM signature if configured, both parts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("campaign_id", type=int)
        parser.add_argument("email")

    def handle(self, *args, campaign_id: int, email: str, **options) -> None:
        campaign = Campaign.objects.select_related("sender").filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"no campaign {campaign_id}")
        contact = Contact.objects.filter(email=email.strip().lower()).first()
        if contact is None:
            raise CommandError(f"no contact {email}")
        message = Message.objects.filter(campaign=campaign, contact=contact).first()
        try:
            outgoing = delivery.outgoing_for(
                campaign, contact, message_id=message.pk if message else None, variant=message.variant if message else 0
            )
        except ValueError as error:
            raise CommandError(f"cannot render: {error}") from None
        self.stdout.write(delivery.to_bytes(outgoing).decode("ascii"), ending="")
