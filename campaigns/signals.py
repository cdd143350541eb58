"""Signals campaigns defines for the apps above it (they connect; campaigns never imports them)."""

from django.dispatch import Signal

# Sent by `seed_demo` inside its transaction, with ``lists``: {slug: MailingList} of the demo
# lists, so higher apps add their own demo objects (and stay safe to run twice).
demo_seeded = Signal()
