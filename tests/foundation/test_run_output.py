"""What `make run` prints: quiet periodic tasks, and a final banner saying where and how to log in."""

import logging

import pytest
from celery.app import trace
from celery.worker import strategy

from devtools import run

DRAIN = "tracking.tasks.drain_events"


@pytest.fixture
def info_logs(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def succeeded(name: str, return_value: str) -> None:
    trace.info(trace.LOG_SUCCESS, {"id": "1", "name": name, "return_value": return_value, "runtime": 0.01})


def test_a_frequent_task_that_did_nothing_is_not_logged(info_logs):
    succeeded(DRAIN, "0")
    succeeded("campaigns.tasks.tick", "None")
    strategy.logger.info(trace.LOG_RECEIVED, {"id": "1", "name": DRAIN}, extra={"data": {"id": "1", "name": DRAIN}})
    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "tracking-drain-events", DRAIN)
    assert info_logs.records == []


def test_a_frequent_task_that_did_work_is_logged(info_logs):
    succeeded(DRAIN, "12")
    assert [record.getMessage() for record in info_logs.records] == [f"Task {DRAIN}[1] succeeded in 0.01s: 12"]


def test_other_tasks_are_logged(info_logs):
    succeeded("campaigns.tasks.send_batch", "None")
    assert len(info_logs.records) == 1


def test_failures_of_frequent_tasks_are_logged(info_logs):
    logging.getLogger("celery.app.trace").error("Task %(name)s[%(id)s] raised", {"name": DRAIN, "id": "1"})
    assert len(info_logs.records) == 1


def test_the_banner_names_the_admin_url_user_and_password(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "VAR", tmp_path)
    (tmp_path / "admin_password").write_text("s3cret-Pass\n")
    (tmp_path / "smtp-sink.port").write_text("1025")
    text = run.banner(8108, "smtp://127.0.0.1:1025", "redis://127.0.0.1:6390/0")
    assert "  Admin:   http://127.0.0.1:8108/admin/\n" in text
    assert "  Log in:  admin / s3cret-Pass\n" in text
    assert "read it with `make mailbox`" in text


def test_the_banner_never_shows_mail_server_credentials(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "VAR", tmp_path)
    text = run.banner(8000, "smtp://user:pa55@mail.example.com:587", "redis://127.0.0.1:6379/0")
    assert "pa55" not in text
    assert "  Mail:    delivered through mail.example.com:587\n" in text
    assert "  Log in:  admin, with the password you set\n" in text


def test_health_pings_are_not_logged(info_logs):
    succeeded("rapport.ping", "'pong'")
    assert info_logs.records == []
