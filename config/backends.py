"""Settings derived from the URLs that name the database and the mail transport."""

from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url

from config.env import ConfigError, env_int, env_str, env_url


def database_settings(var_dir: Path) -> dict:
    """DATABASES["default"] from DATABASE_URL (default: a SQLite file under var/)."""
    url = env_url(
        "DATABASE_URL",
        f"sqlite:///{var_dir / 'rapport.sqlite3'}",
        {"sqlite", "postgres", "postgresql", "pgsql"},
    )
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    except Exception as error:  # dj-database-url raises several types for bad URLs
        raise ConfigError(f"DATABASE_URL: malformed ({error})") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL + immediate transactions let the web process and workers share the file.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        # A file (not :memory:) so worker processes started by tests see the same data.
        config["TEST"] = {"NAME": str(var_dir / f"test-{env_str('RAPPORT_TEST_DB_SUFFIX', 'main')}.sqlite3")}
    else:
        if not config.get("NAME"):
            raise ConfigError("DATABASE_URL: names no database")
        config["CONN_HEALTH_CHECKS"] = True
    return config


def email_settings(url: str, var_dir: Path) -> dict:
    """EMAIL_URL mapped onto Django's and anymail's email settings."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme in {"smtp", "smtps", "submission"}:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": parts.port or {"smtp": 25, "smtps": 465, "submission": 587}[scheme],
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_SSL": scheme == "smtps",
            "EMAIL_USE_TLS": scheme == "submission",
        }
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": parts.path or str(var_dir / "mail"),
        }
    # Any other scheme names an anymail ESP, e.g. mailgun:// or amazon_ses://
    return {"EMAIL_BACKEND": f"anymail.backends.{scheme}.EmailBackend"}


ESP_SCHEMES = {
    "amazon_ses",
    "brevo",
    "mailgun",
    "mailjet",
    "mandrill",
    "postal",
    "postmark",
    "resend",
    "sendgrid",
    "sparkpost",
}
