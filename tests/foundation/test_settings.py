"""Start-up refuses bad settings with one clear line naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import ConfigError, env_bool, env_int, env_rate_map, env_url

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://db/rapport"),
        ("DATABASE_URL", "postgres://host:notaport/db"),
        ("DATABASE_URL", "not a url"),
        ("REDIS_URL", "http://localhost:6379"),
        ("REDIS_URL", "redis://localhost:99999999/0"),
        ("REDIS_URL", ""),
    ],
)
def test_bad_url_stops_startup_with_one_line_naming_the_variable(variable, value):
    env = {variable: value}
    if value == "":
        env[variable] = " "
    result = manage("check", **env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "env"),
    [
        ("DKIM_PRIVATE_KEY_PATH", {"DKIM_SELECTOR": "s1", "DKIM_PRIVATE_KEY_PATH": "/nonexistent/dkim.pem"}),
        ("DKIM_ED25519_SELECTOR", {"DKIM_ED25519_SELECTOR": "ed1"}),
    ],
)
def test_a_dkim_key_that_cannot_be_used_stops_startup(variable, env):
    result = manage("check", **env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and variable in result.stderr


def test_a_warmup_start_that_is_not_a_date_stops_startup():
    result = manage("check", SEND_WARMUP_START="01/12/2026")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "SEND_WARMUP_START" in result.stderr


def test_env_bool_rejects_words_it_does_not_know(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ConfigError, match="DEBUG"):
        env_bool("DEBUG")


def test_env_int_enforces_minimum(monkeypatch):
    monkeypatch.setenv("SEND_RATE_PER_HOUR", "-1")
    with pytest.raises(ConfigError, match="at least 0"):
        env_int("SEND_RATE_PER_HOUR", 0, minimum=0)


def test_env_rate_map_parses_domain_limits(monkeypatch):
    monkeypatch.setenv("DOMAIN_RATE_LIMITS", "gmail.com=20, QQ.com=5")
    assert env_rate_map("DOMAIN_RATE_LIMITS") == {"gmail.com": 20.0, "qq.com": 5.0}


def test_env_rate_map_rejects_pairs_without_rate(monkeypatch):
    monkeypatch.setenv("DOMAIN_RATE_LIMITS", "gmail.com")
    with pytest.raises(ConfigError, match="DOMAIN_RATE_LIMITS"):
        env_rate_map("DOMAIN_RATE_LIMITS")


def test_env_url_accepts_console_without_host(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "console://")
    assert env_url("EMAIL_URL", "", {"console"}, location_optional={"console"}) == "console://"


def test_debug_is_off_unless_asked_for():
    result = manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)", DEBUG="")
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_deploy_check_passes_with_production_settings(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="x7#kq" * 12,
        DEBUG="0",
        SECURE_SSL_REDIRECT="1",
        ALLOWED_HOSTS="mail.example.com",
        SITE_URL="https://mail.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
