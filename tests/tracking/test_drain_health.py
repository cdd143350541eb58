"""/healthz says when opens and clicks stop reaching the history: a drain that keeps
failing, or events left waiting in the buffer for minutes."""

import json
import time

import pytest

from config.redis import request_client
from contacts.models import Activity
from tests.factories import ContactFactory
from tracking import buffer, services
from tracking.events import EventKind, TrackedEvent

pytestmark = pytest.mark.django_db


def push_open(contact_id: int, *, arrived_seconds_ago: float = 0) -> None:
    event = TrackedEvent(EventKind.OPEN, contact_id, None, None, at=time.time(), user_agent="Mozilla/5.0 (X11; Linux)")
    arrived_ms = int((time.time() - arrived_seconds_ago) * 1000)
    # Added by hand rather than by buffer.push: the entry id says how long it has waited.
    request_client().xadd(buffer.STREAM, {"e": json.dumps(event.to_wire())}, id=f"{arrived_ms}-0")


def broken_insert(*args, **kwargs):
    raise ValueError("unsupported format character 'Y'")


@pytest.fixture(autouse=True)
def _retry_at_once(monkeypatch):
    """Each drain takes back what the failed one left pending, without waiting a minute."""
    monkeypatch.setattr(buffer, "CLAIM_IDLE_MS", 0)


def test_healthz_is_503_with_the_error_when_the_drain_keeps_failing(client, monkeypatch):
    push_open(ContactFactory().pk)
    monkeypatch.setattr(services.ingest_sql, "insert_events", broken_insert)
    for _ in range(buffer.DRAIN_FAILURES_UNHEALTHY):
        with pytest.raises(ValueError):
            services.drain_exclusively(max_batches=1)

    response = client.get("/healthz")

    assert response.status_code == 503
    error = response.json()["checks"]["events"]["error"]
    assert "failed 3 times in a row" in error
    assert "unsupported format character" in error


def test_healthz_is_ok_again_once_a_drain_succeeds(client, monkeypatch):
    contact = ContactFactory()
    push_open(contact.pk)
    with monkeypatch.context() as patched:
        patched.setattr(services.ingest_sql, "insert_events", broken_insert)
        for _ in range(buffer.DRAIN_FAILURES_UNHEALTHY):
            with pytest.raises(ValueError):
                services.drain_exclusively(max_batches=1)

    assert services.drain_exclusively(max_batches=1) == 1

    assert client.get("/healthz").status_code == 200
    assert Activity.objects.filter(contact=contact, kind=Activity.Kind.OPENED).exists()


def test_healthz_is_503_when_events_have_waited_for_minutes(client):
    push_open(ContactFactory().pk, arrived_seconds_ago=buffer.BACKLOG_MAX_AGE_SECONDS + 60)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert "tracking events has waited 6 min" in response.json()["checks"]["events"]["error"]


def test_healthz_ignores_events_that_just_arrived(client):
    push_open(ContactFactory().pk)

    assert client.get("/healthz").status_code == 200
