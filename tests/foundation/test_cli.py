"""Commands fail with one line naming the cause and a non-zero exit, never a traceback."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.core.management import CommandError, call_command

from campaigns.models import Campaign
from config.cli import reason
from devtools.services import free_port
from tests.factories import CampaignFactory

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600
    )


def test_a_command_on_an_unmigrated_database_prints_one_line_and_exits_non_zero(tmp_path):
    result = manage("send_campaign", "1", RAPPORT_VAR_DIR=str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    # SQLite says "no such table", PostgreSQL "relation ... does not exist": the database's own words.
    expected = r"rapport: the database is not set up \(.*campaigns_campaign.*\); run `python manage.py migrate`"
    assert re.fullmatch(expected, line)


def test_traceback_flag_still_shows_the_traceback(tmp_path):
    result = manage("send_campaign", "1", "--traceback", RAPPORT_VAR_DIR=str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" in result.stderr


@pytest.mark.django_db
def test_send_campaign_with_redis_down_refuses_with_one_line_and_queues_nothing(settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    campaign = CampaignFactory()
    with pytest.raises(CommandError, match=r"^cannot reach Redis at .*; start it or set REDIS_URL$"):
        call_command("send_campaign", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_the_reason_is_found_behind_the_error_raised_while_handling_it():
    failure = RuntimeError("\nRetry limit exceeded while trying to reconnect to the Celery result store")
    failure.__context__ = redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
    assert reason(failure).startswith("cannot reach Redis at ")


def test_an_unknown_error_is_its_type_and_first_line():
    assert reason(ValueError("bad value\nsecond line")) == "ValueError: bad value"
