"""The moving parts answer: Celery through real Redis, the admin, the local SMTP sink."""

import smtplib
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command

from config.celery import app
from devtools.services import free_port
from devtools.smtp_sink import MaildirHandler


def test_a_real_worker_answers_ping_through_redis(start_worker, monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    start_worker()
    result = app.send_task("rapport.ping")
    assert result.get(timeout=300) == "pong"


@pytest.mark.django_db
def test_admin_login_page_is_served(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"Rapport" in response.content


@pytest.mark.django_db
def test_admin_dashboard_shows_a_new_installation_what_to_do_next(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert b"What to do next" in response.content


def test_local_smtp_sink_keeps_mail_for_the_mailbox_command(tmp_path, settings, capsys):
    settings.VAR_DIR = tmp_path
    controller = Controller(MaildirHandler(tmp_path / "mail"), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Grüße 你好"
        message.set_content("hello")
        with smtplib.SMTP("127.0.0.1", controller.port) as client:
            client.send_message(message)
    finally:
        controller.stop()
    call_command("mailbox")
    assert "Grüße 你好" in capsys.readouterr().out


def test_mailbox_command_refuses_a_number_it_does_not_hold(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    with pytest.raises(Exception, match="no message 3"):
        call_command("mailbox", "3")
