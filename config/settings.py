"""Rapport settings: everything comes from the environment, with safe local defaults.

See README.md "Settings" for the list. A bad value raises ConfigError naming the
variable; manage.py and the run scripts turn that into a one-line message.
"""

import os
import secrets
from datetime import date
from pathlib import Path

from celery.schedules import crontab

from config.backends import ESP_SCHEMES, database_settings, email_settings
from config.env import (
    ConfigError,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_rate_map,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("RAPPORT_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY from the environment; for local use, one generated once under var/."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Older keys still verify signed tokens and sessions after a rotation.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")


def _local_site_url() -> str:
    """Where `make run` serves (it records its SITE_URL under var/, PORT included), so links
    written by a manage.py command in another terminal point at the running server."""
    recorded = VAR_DIR / "site_url"
    return (recorded.read_text().strip() if recorded.exists() else "") or "http://127.0.0.1:8000"


SITE_URL = env_url("SITE_URL", _local_site_url(), {"http", "https"}).rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_URL)

INSTALLED_APPS = [
    "contacts",
    "templates_mail",
    "campaigns",
    "tracking",
    "signups",
    "sales",
    "automations",
    "reports",
    "privacy",
    "dashboard",
    "anymail",
    "wagtail.contrib.settings",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# --- Database -----------------------------------------------------------------
DATABASES = {"default": database_settings(VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery ---------------------------------------------------------


def _local_service_url(name: str, scheme: str, fallback: str) -> str:
    """Where `make run` started a private service (its port is kept under var/), so a
    manage.py command in another terminal talks to the same Redis and SMTP sink."""
    port_file = VAR_DIR / f"{name}.port"
    if port_file.exists() and port_file.read_text().strip().isdigit():
        return f"{scheme}://127.0.0.1:{port_file.read_text().strip()}" + ("/0" if scheme == "redis" else "")
    return fallback


REDIS_URL = env_url(
    "REDIS_URL", _local_service_url("redis", "redis", "redis://127.0.0.1:6379/0"), {"redis", "rediss", "unix"}
)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "rapport",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only after it finished, and re-queued if its worker dies:
# work is claimed in the database, so a second delivery of a task is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task at a time per process, so a killed worker strands at most one batch.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than any countdown/ETA we schedule, else Redis would redeliver early.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600, minimum=60)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {}


# --- Email delivery ----------------------------------------------------------------
EMAIL_URL = env_url(
    "EMAIL_URL",
    _local_service_url("smtp-sink", "smtp", "console://"),
    {"smtp", "smtps", "submission", "console", "file"} | ESP_SCHEMES,
    location_optional={"console", "file"} | ESP_SCHEMES,
)
globals().update(email_settings(EMAIL_URL, VAR_DIR))
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
# ESP credentials: every ANYMAIL_* variable, e.g. ANYMAIL_MAILGUN_API_KEY -> MAILGUN_API_KEY.
ANYMAIL = {key.removeprefix("ANYMAIL_"): value for key, value in os.environ.items() if key.startswith("ANYMAIL_")}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Rapport <news@example.com>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# Bounces return here (VERP: bounces+<token>@BOUNCE_DOMAIN).
BOUNCE_DOMAIN = env_str("BOUNCE_DOMAIN", "bounces.example.com")
POSTAL_ADDRESS = env_str("POSTAL_ADDRESS", "Rapport, 1 Example Street, 00000 Example City")

SEND_RATE_PER_SECOND = env_float("SEND_RATE_PER_SECOND", 50.0, minimum=0.1)
SEND_RATE_PER_HOUR = env_int("SEND_RATE_PER_HOUR", 0, minimum=0)  # 0 = no hourly cap
DOMAIN_RATE_LIMITS = env_rate_map("DOMAIN_RATE_LIMITS")


def _readable_file(name: str) -> str:
    path = env_str(name)
    if path and not os.access(path, os.R_OK):
        raise ConfigError(f"{name}: {path} is not a readable file")
    return path


DKIM_SELECTOR = env_str("DKIM_SELECTOR")
DKIM_DOMAIN = env_str("DKIM_DOMAIN")
DKIM_PRIVATE_KEY_PATH = _readable_file("DKIM_PRIVATE_KEY_PATH")
if bool(DKIM_SELECTOR) != bool(DKIM_PRIVATE_KEY_PATH):
    raise ConfigError("DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH: set both or neither")
# A second signature with an Ed25519 key (RFC 8463), under its own selector of the same domain.
DKIM_ED25519_SELECTOR = env_str("DKIM_ED25519_SELECTOR")
DKIM_ED25519_PRIVATE_KEY_PATH = _readable_file("DKIM_ED25519_PRIVATE_KEY_PATH")
if bool(DKIM_ED25519_SELECTOR) != bool(DKIM_ED25519_PRIVATE_KEY_PATH):
    raise ConfigError("DKIM_ED25519_SELECTOR and DKIM_ED25519_PRIVATE_KEY_PATH: set both or neither")

# The SPF term that authorises the relay, e.g. "include:_spf.relay.example.net" or "ip4:192.0.2.25":
# the sender domain check requires it in the bounce domain's SPF record.
SENDER_SPF_INCLUDE = env_str("SENDER_SPF_INCLUDE")

# --- Send pipeline (campaigns/freeze.py, dispatch.py, claims.py, sender.py, throttle.py, delivery.py) -----------------
SEND_BATCH_SIZE = env_int("SEND_BATCH_SIZE", 500, minimum=1)
# A claimed batch is renewed at every flush; a lease that runs out means its worker died.
SEND_LEASE_SECONDS = env_int("SEND_LEASE_SECONDS", 300, minimum=2)
# A worker holding a claim refreshes a Redis key this often; gone for three intervals, its claim is taken back.
SEND_HEARTBEAT_SECONDS = env_int("SEND_HEARTBEAT_SECONDS", 5, minimum=1)
# Outcomes are written to the database every this many messages, at least once a second and at the end of a batch.
SEND_FLUSH_EVERY = env_int("SEND_FLUSH_EVERY", 500, minimum=1)
# A sending campaign with queued rows, no claim and no worker progress for this long is dispatched again.
SEND_STALL_SECONDS = env_int("SEND_STALL_SECONDS", 300, minimum=1)
SEND_RETRY_BASE_SECONDS = env_float("SEND_RETRY_BASE_SECONDS", 60.0, minimum=0.01)
SEND_RETRY_MAX_DELAY_SECONDS = env_int("SEND_RETRY_MAX_DELAY_SECONDS", 3600, minimum=1)
# A temporarily refused message is retried until it is this old, then marked failed.
SEND_RETRY_MAX_AGE_SECONDS = env_int("SEND_RETRY_MAX_AGE_SECONDS", 3 * 86400, minimum=1)
SEND_ERROR_RATE_THRESHOLD = env_float("SEND_ERROR_RATE_THRESHOLD", 0.2, minimum=0.0)
SEND_ERROR_RATE_MIN_SAMPLE = env_int("SEND_ERROR_RATE_MIN_SAMPLE", 50, minimum=1)
# Reputation guard (campaigns/reputation.py): Gmail's and Yahoo's published limits for bulk senders.
SEND_GUARD_MIN_DELIVERED = env_int("SEND_GUARD_MIN_DELIVERED", 500, minimum=1)
SEND_GUARD_COMPLAINT_RATE = env_float("SEND_GUARD_COMPLAINT_RATE", 0.003, minimum=0.0)
SEND_GUARD_HARD_BOUNCE_RATE = env_float("SEND_GUARD_HARD_BOUNCE_RATE", 0.05, minimum=0.0)
SEND_GUARD_INTERVAL_SECONDS = env_int("SEND_GUARD_INTERVAL_SECONDS", 30, minimum=1)
# A receiving domain that defers rests this long, doubling with each deferral in a row.
SEND_DOMAIN_BACKOFF_BASE_SECONDS = env_float("SEND_DOMAIN_BACKOFF_BASE_SECONDS", 15.0, minimum=0.01)
SEND_DOMAIN_BACKOFF_MAX_SECONDS = env_float("SEND_DOMAIN_BACKOFF_MAX_SECONDS", 1800.0, minimum=0.01)
# Deferrals in a row from one domain that make a storm (a 421 always does).
SEND_DOMAIN_STORM_DEFERRALS = env_int("SEND_DOMAIN_STORM_DEFERRALS", 5, minimum=1)
# Warm-up of a new sending domain: daily caps, one per day since SEND_WARMUP_START (YYYY-MM-DD).
try:
    SEND_WARMUP_DAILY_CAPS = [int(cap) for cap in env_list("SEND_WARMUP_DAILY_CAPS")]
except ValueError:
    raise ConfigError("SEND_WARMUP_DAILY_CAPS: expected comma-separated whole numbers") from None
SEND_WARMUP_START = env_str("SEND_WARMUP_START")
try:
    # Parsed again by the throttle for each slot: a bad value must stop start-up, not sending.
    if SEND_WARMUP_START:
        date.fromisoformat(SEND_WARMUP_START)
except ValueError:
    raise ConfigError(f"SEND_WARMUP_START: expected a date as YYYY-MM-DD, got {SEND_WARMUP_START!r}") from None
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= SEND_RETRY_MAX_DELAY_SECONDS:
    raise ConfigError("SEND_RETRY_MAX_DELAY_SECONDS: must be shorter than CELERY_VISIBILITY_TIMEOUT")
CELERY_BEAT_SCHEDULE["campaigns-tick"] = {"task": "campaigns.tasks.tick", "schedule": 10.0}

DNS_NAMESERVERS = env_list("DNS_NAMESERVERS")
EMAIL_CHECK_DNS = env_bool("EMAIL_CHECK_DNS", True)
DNS_TIMEOUT = env_float("DNS_TIMEOUT", 2.0, minimum=0.1)

# --- Internationalisation ------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media ----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Wagtail -------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "Rapport"
WAGTAILADMIN_BASE_URL = SITE_URL
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_ENABLE_UPDATE_CHECK = False
# Gravatar is unreachable offline and its broken image replaced the avatar; show Wagtail's default one.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILDOCS_EXTENSIONS = ["csv", "xlsx", "pdf", "txt", "zip"]
LOGIN_URL = "wagtailadmin_login"

# --- Security ---------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Wagtail previews campaigns in a same-origin frame, so DENY would break the editor.
X_FRAME_OPTIONS = "SAMEORIGIN"
SILENCED_SYSTEM_CHECKS = ["security.W019"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"quiet_frequent_tasks": {"()": "config.log_filters.QuietFrequentTasks"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Received, succeeded and sent-by-beat records of the drain and the tick (every few seconds).
        "celery.worker.strategy": {"filters": ["quiet_frequent_tasks"]},
        "celery.app.trace": {"filters": ["quiet_frequent_tasks"]},
        "celery.beat": {"filters": ["quiet_frequent_tasks"]},
    },
}

# --- Contacts: import limits ------------------------------------------------------------
CONTACTS_IMPORT_MAX_BYTES = env_int("CONTACTS_IMPORT_MAX_BYTES", 200 * 1024 * 1024, minimum=1024)
# Uploaded contact files hold personal data: they live outside MEDIA_ROOT, under random names,
# and are never served (the admin reads them through permission-checked views only).
IMPORT_UPLOAD_ROOT = Path(env_str("IMPORT_UPLOAD_DIR", str(VAR_DIR / "private")))
# Everything a hostile file could inflate is bounded; each limit is refused with a one-line reason.
# 32,767 characters is Excel's own cell limit.
CONTACTS_IMPORT_MAX_ROWS = env_int("CONTACTS_IMPORT_MAX_ROWS", 1_000_000, minimum=1)
CONTACTS_IMPORT_MAX_COLUMNS = env_int("CONTACTS_IMPORT_MAX_COLUMNS", 200, minimum=1)
CONTACTS_IMPORT_MAX_CELL_CHARS = env_int("CONTACTS_IMPORT_MAX_CELL_CHARS", 32_767, minimum=256)
CONTACTS_IMPORT_MAX_INFLATED_BYTES = env_int("CONTACTS_IMPORT_MAX_INFLATED_BYTES", 500 * 1024 * 1024, minimum=1024)
CONTACTS_IMPORT_MAX_SHARED_STRINGS_BYTES = env_int(
    "CONTACTS_IMPORT_MAX_SHARED_STRINGS_BYTES", 64 * 1024 * 1024, minimum=1024
)
# The first errors are kept on the job for the result page; all of them go to the streamed report file.
CONTACTS_IMPORT_KEPT_ERRORS = env_int("CONTACTS_IMPORT_KEPT_ERRORS", 1000, minimum=1)

# --- Tracking, bounces and engagement (tracking/, contacts/engagement.py) ----------------
# Contacts with no human open or click for this many months stop being mailed, except by a
# re-engagement campaign; 0 turns the sunset policy off.
SUNSET_AFTER_MONTHS = env_int("SUNSET_AFTER_MONTHS", 12, minimum=0)
TRACKING_DRAIN_SECONDS = env_float("TRACKING_DRAIN_SECONDS", 5.0, minimum=0.5)
# Bounce mailbox polled by Celery beat; polling is off while IMAP_HOST is unset.
IMAP_HOST = env_str("IMAP_HOST")
IMAP_PORT = env_int("IMAP_PORT", 993, minimum=1)
IMAP_SSL = env_bool("IMAP_SSL", True)
IMAP_USER = env_str("IMAP_USER")
IMAP_PASSWORD = env_str("IMAP_PASSWORD")
IMAP_FOLDER = env_str("IMAP_FOLDER", "INBOX")
IMAP_POLL_SECONDS = env_int("IMAP_POLL_SECONDS", 300, minimum=10)
CELERY_BEAT_SCHEDULE["tracking-drain-events"] = {
    "task": "tracking.tasks.drain_events",
    "schedule": TRACKING_DRAIN_SECONDS,
}
CELERY_BEAT_SCHEDULE["tracking-recompute-engagement"] = {
    "task": "tracking.tasks.recompute_engagement",
    "schedule": crontab(hour=3, minute=15),
}
if IMAP_HOST:
    CELERY_BEAT_SCHEDULE["tracking-poll-bounce-mailbox"] = {
        "task": "tracking.tasks.poll_bounce_mailbox",
        "schedule": float(IMAP_POLL_SECONDS),
    }
# flufl.bounce logs every detector it tries at INFO.
LOGGING["loggers"]["flufl.bounce"] = {"level": "WARNING"}

# --- Campaign builder (templates_mail) ------------------------------------------------------
# Compiled (inlined) campaign versions are shared between worker processes through the
# cache for this long, so premailer runs once per version, not once per process. 0 = off.
RENDER_CACHE_SECONDS = env_int("RENDER_CACHE_SECONDS", 24 * 3600, minimum=0)

# Settings of the apps above tracking (signups, sales, automations, reports, privacy).
from config.app_settings import *  # noqa: E402,F403
from config.app_settings import APP_BEAT_SCHEDULE  # noqa: E402

CELERY_BEAT_SCHEDULE.update(APP_BEAT_SCHEDULE)
