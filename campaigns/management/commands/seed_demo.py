"""`seed_demo [--contacts N]`: demo lists, contacts on reserved example domains, and a ready campaign.

Safe to run twice: everything is found by its natural key before it is created. The demo
campaign is dated before any other, so it is always the oldest campaign.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from campaigns.models import Campaign, SenderIdentity
from campaigns.signals import demo_seeded
from contacts.models import Contact, MailingList, Subscription
from templates_mail.apps import install_shipped_layouts
from templates_mail.models import Layout

DOMAINS = ["example.com", "example.org", "example.net"]
FIRST_NAMES = ["Ann", "Bo", "Chen", "Dana", "Émile", "Fatima", "Georg", "Hana", "Ivan", "Jia", "Kofi", "Lena"]
LAST_NAMES = ["Wang", "Müller", "Smith", "Okafor", "Rossi", "Kim", "Novak", "Li", "Garcia", "Sato"]
REGIONS = ["East China", "North China", "Bavaria", "Ontario", "Lagos"]
LISTS = [("demo-newsletter", "Demo newsletter"), ("demo-customers", "Demo customers")]
CAMPAIGN_NAME = "Demo: autumn newsletter"
OLDEST = datetime(2000, 1, 1, tzinfo=UTC)


def demo_contacts(count: int) -> list[Contact]:
    contacts = []
    for number in range(count):
        email = f"demo{number}@{DOMAINS[number % len(DOMAINS)]}"
        contacts.append(
            Contact(
                email=email,
                email_domain=email.rpartition("@")[2],
                first_name=FIRST_NAMES[number % len(FIRST_NAMES)],
                last_name=LAST_NAMES[number % len(LAST_NAMES)],
                company=f"Demo Company {number % 17}",
                region=REGIONS[number % len(REGIONS)],
                grade="ABC"[number % 3],
                source=Contact.Source.IMPORT,
                consent_method="demo seed",
            )
        )
    return contacts


def demo_body() -> list[dict]:
    return [
        {"type": "heading", "value": {"text": 'Hello {{ contact.first_name|default:"there" }}', "level": "h1"}},
        {
            "type": "text",
            "value": {
                "text": "<p>Autumn is here, and so is our new collection. Here is what the team at "
                '{{ contact.company|default:"your company" }} might like.</p>'
            },
        },
        {
            "type": "card",
            "value": {
                "title": "Field jacket",
                "text": "Light, warm and tested for a full season before it reached the shop.",
                "price": "€129",
                "button_label": "Shop the jacket",
                "url": "https://shop.example.com/jacket",
                "width": 560,
            },
        },
        {
            "type": "text",
            "value": {
                "text": "<p>As one of our best customers you get early access this week.</p>",
                "audience": {"segment": None, "field": "grade", "operator": "is", "value": "A"},
            },
        },
        {"type": "button", "value": {"label": "See everything new", "url": "https://shop.example.com/new"}},
        {"type": "divider", "value": {}},
        {"type": "quote", "value": {"text": "The best jacket I have owned.", "attribution": "A happy customer"}},
    ]


class Command(BaseCommand):
    help = "Create demo lists with N contacts on example domains and a ready campaign for them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=200, help="How many demo contacts (default 200).")
        parser.add_argument("--json", action="store_true", help="Print a JSON summary.")

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        count = options["contacts"]
        if count < 0 or count > 1_000_000:
            raise CommandError("--contacts must be between 0 and 1000000")
        install_shipped_layouts()
        lists = [MailingList.objects.get_or_create(slug=slug, defaults={"name": name})[0] for slug, name in LISTS]
        contacts = demo_contacts(count)
        Contact.objects.bulk_create(contacts, ignore_conflicts=True, batch_size=1000)
        emails = [contact.email for contact in contacts]
        ids = list(Contact.objects.filter(email__in=emails).order_by("pk").values_list("pk", flat=True))
        Subscription.objects.bulk_create(
            [Subscription(contact_id=pk, mailing_list=lists[index % len(lists)]) for index, pk in enumerate(ids)],
            ignore_conflicts=True,
            batch_size=1000,
        )
        campaign = self.campaign(lists)
        demo_seeded.send(sender=self.__class__, lists={mailing_list.slug: mailing_list for mailing_list in lists})
        summary = {
            "contacts": len(ids),
            "lists": [mailing_list.slug for mailing_list in lists],
            "campaign": campaign.pk,
        }
        self.stdout.write(
            json.dumps(summary) if options["json"] else f"Demo ready: {len(ids)} contacts, campaign #{campaign.pk}."
        )

    def campaign(self, lists: list[MailingList]) -> Campaign:
        sender, _ = SenderIdentity.objects.get_or_create(
            email="news@example.com", defaults={"name": "Rapport Demo", "verified": True}
        )
        campaign, created = Campaign.objects.get_or_create(
            name=CAMPAIGN_NAME,
            defaults={
                "subject": 'Autumn news for {{ contact.first_name|default:"you" }} 🍂',
                "preheader": "Our new collection, and early access for our best customers",
                "sender": sender,
                "layout": Layout.objects.order_by("-is_default", "name").first(),
                "body": demo_body(),
                "created_at": OLDEST,
            },
        )
        if created:
            campaign.include_lists.set(lists)
        return campaign
