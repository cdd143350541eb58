"""Settings for the test suite: the real ones, plus a private Redis started for this run.

The Redis server is started here, before config.settings is imported, so every setting
derived from REDIS_URL (cache, Celery broker) points at it; worker processes started by
tests inherit the same environment.
"""

from devtools.testenv import start_test_services

start_test_services()

from config.settings import *  # noqa: E402,F403

CELERY_TASK_ALWAYS_EAGER = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_AUTOREFRESH = True
# Each test moves a journey's clock itself; tests/automations/test_triggers.py covers the interval.
JOURNEY_SCHEDULED_TRIGGER_SECONDS = 0
