"""Signals campaigns defines for the apps above it (they connect; campaigns never imports them)."""

from django.dispatch import Signal

# Sent by `seed_demo` inside its transaction, with ``lists``: {slug: MailingList} of the demo
# lists, so higher apps add their own demo objects (and stay safe to run twice).
demo_seeded = Signal()

# Sent by services.blocking_problems with ``campaign``; each receiver returns a list of reasons
# the campaign must not be scheduled or sent (automations: it is a journey's email content).
sending_checks = Signal()
