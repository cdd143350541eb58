"""Journeys for the engine's tests: a definition goes live in one call; `run()` does what
beat's tick and its advance tasks do, in-process."""

from __future__ import annotations

from typing import Any

from automations import engine, services, triggers
from automations.models import Journey


def live_journey(steps: list[dict[str, Any]], triggers_: list[dict[str, Any]] | None = None, **fields) -> Journey:
    journey = Journey.objects.create(
        name=fields.pop("name", "Test journey"), definition={"triggers": triggers_ or [], "steps": steps}, **fields
    )
    services.activate(journey)
    return journey


def run(times: int = 1) -> int:
    """Unsubscribed contacts leave, triggers enrol, and every due step runs; returns contact-steps."""
    done = 0
    for _ in range(times):
        engine.leave_unsubscribed()
        triggers.evaluate_all()
        done += engine.advance()
    return done


def email(key: str, subject: str = "Hi", text: str = "Hello.") -> dict[str, Any]:
    return {"key": key, "type": "email", "subject": subject, "text": text}
