"""Per-recipient render throughput on one core: a 40 KB newsletter, 5 merge fields, 25 links.

The merge fields: first name (twice), company, city, owner name.

    .venv/bin/python bench/render.py [--recipients N]

Runs against a throwaway in-memory SQLite database. Prints the prepare (inline) time, the
HTML size and recipients per second for render() alone, which is substitution only.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = "sqlite:///:memory:"
# Measure premailer itself, without the Redis cache shared between workers.
os.environ["RENDER_CACHE_SECONDS"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from campaigns.models import Campaign  # noqa: E402
from campaigns.version import prepare  # noqa: E402
from templates_mail.models import Layout  # noqa: E402
from templates_mail.recipient import Recipient  # noqa: E402

INTRO = (
    "<p>Autumn is here, {{ contact.first_name|default:'friend' }}, and the team at {{ contact.company }} "
    "deserves the best tools for the season, made for customers in {{ contact.city }}.</p>"
)
PARAGRAPH = (
    "<p>Our new collection brings lighter materials, better insulation and a fit designed with our "
    "customers. Every piece is tested in the field for a full season before it reaches the shop, "
    "and we publish what we learn. Read on for the highlights of this month.</p>"
)


def newsletter() -> list[dict]:
    body = [
        {"type": "heading", "value": {"text": "Hello {{ contact.first_name }}", "level": "h1"}},
        {"type": "text", "value": {"text": INTRO}},
    ]
    for number in range(25):
        if number % 2:
            body.append({"type": "text", "value": {"text": PARAGRAPH}})
        body.append(
            {
                "type": "card",
                "value": {
                    "title": f"Product {number}",
                    "text": "A short description of the product and why it matters.",
                    "price": f"€{number + 10}.00",
                    "button_label": "Shop now",
                    "url": f"https://shop.example.com/products/{number}?utm_source=newsletter",
                    "width": 560,
                },
            }
        )
    body.append({"type": "text", "value": {"text": "<p>Your contact: {{ owner.name }}</p>"}})
    return body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=20_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    campaign = Campaign.objects.create(
        name="bench", subject="News for {{ contact.first_name }}", layout=Layout.objects.get(is_default=True)
    )
    campaign.body = newsletter()
    campaign.save()

    started = time.perf_counter()
    prepared = prepare(campaign)
    prepare_seconds = time.perf_counter() - started
    recipients = [
        Recipient(
            contact_id=n,
            email=f"user{n}@example.com",
            first_name=f"Name{n}",
            company="Example GmbH",
            city="Hangzhou",
            owner_name="Li Wei",
            message_id=n,
        )
        for n in range(1, args.recipients + 1)
    ]
    sample = prepared.render(recipients[0])
    started = time.perf_counter()
    for recipient in recipients:
        prepared.render(recipient)
    seconds = time.perf_counter() - started

    print(f"links tracked:          {prepared.link_count}")
    print(f"rendered HTML size:     {len(sample.html.encode()) / 1024:.1f} KB (text part {len(sample.text)} chars)")
    print(f"prepare (inline once):  {prepare_seconds * 1000:.0f} ms")
    print(f"recipients rendered:    {args.recipients}")
    print(f"per-recipient render:   {seconds / args.recipients * 1e6:.0f} us")
    print(f"throughput (one core):  {args.recipients / seconds:,.0f} recipients/s")


if __name__ == "__main__":
    main()
