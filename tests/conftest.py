"""Fixtures shared by the whole suite: real SMTP sink, real Celery worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from celery import current_app
from django.db import connection

from campaigns.delivery import SMTP_BACKEND
from contacts.roles import MARKETERS, SALES
from devtools.services import free_port
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent


# --- Personas: one user per role, built from the real groups (contacts/roles.py). Each logs the
# test's ``client`` in; a test that needs two of them logs in explicitly (client.force_login).


@pytest.fixture
def marketer(db, client):
    """A member of Marketers: contacts, lists, segments, imports, layouts, campaigns, sending."""
    user = UserFactory(username="marketer", groups=[MARKETERS])
    client.force_login(user)
    return user


@pytest.fixture
def salesperson(db, client):
    """A member of Sales: every contact's page and history, edits only the contacts it owns."""
    user = UserFactory(username="sales", groups=[SALES])
    client.force_login(user)
    return user


@pytest.fixture
def admin(db, client):
    """A superuser: every page, whatever the roles grant."""
    user = UserFactory(username="admin", is_superuser=True, is_staff=True)
    client.force_login(user)
    return user


@pytest.fixture
def marketer_client(client, marketer):
    return client


@pytest.fixture
def admin_client(client, admin):
    return client


@dataclass
class SinkHandler:
    """Keeps every accepted message; ``reply`` lets a test make the sink refuse (e.g. "451 ...")."""

    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    reply: str | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        if self.reply:
            return self.reply
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@dataclass
class SmtpSink:
    host: str
    port: int
    handler: SinkHandler

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def parsed(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=policy.default) for _, raw in self.handler.messages]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real aiosmtpd server on loopback for one test."""
    handler = SinkHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpSink("127.0.0.1", controller.port, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp(settings, smtp_sink) -> SmtpSink:
    """Mail sent by this process goes over real SMTP to the sink, from a known sender."""
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = SMTP_BACKEND, "127.0.0.1", smtp_sink.port
    settings.DEFAULT_FROM_EMAIL = "Rapport <hello@example.com>"
    return smtp_sink


def database_url() -> str:
    """URL of the database this test run uses (the test database), for child processes."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    auth = config["USER"] + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
    return f"postgres://{auth}@{config['HOST']}:{config['PORT']}/{config['NAME']}"


class WorkerProcess:
    """A real `celery worker` process against the test Redis and the test database."""

    def __init__(
        self, extra_env: dict[str, str] | None = None, concurrency: int = 1, queues: str = "celery,transactional"
    ) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SECURE_SSL_REDIRECT": "0"}
        env["DATABASE_URL"] = database_url()
        env.update(extra_env or {})
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "-c", str(concurrency)]
        command += ["-Q", queues, "-n", f"{queues.replace(',', '-')}-{os.getpid()}-{id(self)}@%h"]
        self.process = subprocess.Popen(
            [*command, "--without-heartbeat", "--without-mingle", "--without-gossip"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the worker and its pool children at once, as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def real_broker() -> Iterator[None]:
    """Tasks enqueued by this test process go to Redis for a worker process, not run inline."""
    current_app.conf.task_always_eager = False
    yield
    current_app.conf.task_always_eager = True


@pytest.fixture
def start_worker() -> Iterator:
    """Start real worker processes on demand; all are stopped after the test."""
    workers: list[WorkerProcess] = []

    def start(
        extra_env: dict[str, str] | None = None, concurrency: int = 1, queues: str = "celery,transactional"
    ) -> WorkerProcess:
        worker = WorkerProcess(extra_env, concurrency, queues)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


# Generous on purpose: a worker process on a 2-core machine shared with another suite can take
# minutes where a quiet one takes seconds. A passing test never waits this long.
WAIT_SECONDS = 600.0


def wait_until(predicate, timeout: float = WAIT_SECONDS, interval: float = 0.1, message: str = "condition") -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")
