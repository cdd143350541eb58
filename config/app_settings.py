"""Settings of the apps above tracking: signups, sales, automations, reports, privacy.

Star-imported at the end of config/settings.py (which adds APP_BEAT_SCHEDULE to Celery beat's),
so each app's knobs sit together here and the core settings stay readable.
"""

from pathlib import Path

from celery.schedules import crontab

from config.env import ConfigError, env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("RAPPORT_VAR_DIR", str(BASE_DIR / "var")))
APP_BEAT_SCHEDULE: dict[str, dict] = {}

# One person's own mail (campaigns/transactional.py) goes to the "transactional" queue, whose
# worker no campaign batch occupies. Routed here: Celery 6 drops the task decorator's queue option.
TRANSACTIONAL_TASKS = (
    "signups.tasks.send_confirmation",
    "signups.tasks.send_welcome",
    "sales.tasks.send_reminders",
    "sales.tasks.send_digest",
    "privacy.tasks.send_data_export",
)
CELERY_TASK_ROUTES = {name: {"queue": "transactional"} for name in TRANSACTIONAL_TASKS}

# --- Signup forms and double opt-in (signups) -------------------------------------------------
# SIGNUP_CHALLENGE=0 turns the proof-of-work challenge off (local testing only).
SIGNUP_CHALLENGE = env_bool("SIGNUP_CHALLENGE", True)
# PBKDF2 iterations per ALTCHA attempt: about a second of a phone's time, far more for a flood.
SIGNUP_CHALLENGE_COST = env_int("SIGNUP_CHALLENGE_COST", 5000, minimum=1)
SIGNUP_MIN_SECONDS = env_int("SIGNUP_MIN_SECONDS", 3, minimum=0)
SIGNUP_RATE_PER_IP_PER_MINUTE = env_int("SIGNUP_RATE_PER_IP_PER_MINUTE", 20, minimum=1)
SIGNUP_RATE_PER_ADDRESS_PER_HOUR = env_int("SIGNUP_RATE_PER_ADDRESS_PER_HOUR", 5, minimum=1)
SIGNUP_CONFIRMATIONS_PER_HOUR = env_int("SIGNUP_CONFIRMATIONS_PER_HOUR", 500, minimum=0)
SIGNUP_PENDING_DAYS = env_int("SIGNUP_PENDING_DAYS", 30, minimum=1)
APP_BEAT_SCHEDULE["signups-purge-pending"] = {
    "task": "signups.tasks.purge_pending",
    "schedule": crontab(hour=3, minute=45),
}

# --- Sales tasks: reminders, digests, task rules (sales/reminders.py, sales/rules.py) ----------
REMINDER_BATCH_SIZE = env_int("REMINDER_BATCH_SIZE", 100, minimum=1)
# A claimed batch's lease; the row on the wire renews its own. Run out, the worker is taken for dead.
REMINDER_LEASE_SECONDS = env_int("REMINDER_LEASE_SECONDS", 60, minimum=2)
REMINDER_RETRY_SECONDS = env_int("REMINDER_RETRY_SECONDS", 300, minimum=1)
# Sender tasks started per tick while reminders are due; each claims batches for at most the budget.
REMINDER_SENDERS = env_int("REMINDER_SENDERS", 2, minimum=1)
REMINDER_SEND_BUDGET_SECONDS = env_float("REMINDER_SEND_BUDGET_SECONDS", 50.0, minimum=1.0)
APP_BEAT_SCHEDULE["sales-tick"] = {"task": "sales.tasks.tick", "schedule": 10.0}
APP_BEAT_SCHEDULE["sales-task-rules"] = {"task": "sales.tasks.run_task_rules", "schedule": 300.0}

# --- Sales: deals, lost customers, grades (sales/deals.py, sales/lost.py, sales/grades.py) ------
SALES_DEFAULT_CURRENCY = env_str("SALES_DEFAULT_CURRENCY", "EUR")
# A customer is drifting when the engagement score fell by this share against its 90-day baseline.
SALES_LOST_ENGAGEMENT_DROP = env_float("SALES_LOST_ENGAGEMENT_DROP", 0.5, minimum=0.01)
# ... and only when that baseline was at least this score (a drop from almost nothing says nothing).
SALES_LOST_MIN_BASELINE = env_float("SALES_LOST_MIN_BASELINE", 3.0, minimum=0.0)
# The lost-customer job runs after the engagement recompute (03:15), the grade rules after it.
APP_BEAT_SCHEDULE["sales-detect-lost-customers"] = {
    "task": "sales.tasks.detect_lost_customers",
    "schedule": crontab(hour=3, minute=45),
}
APP_BEAT_SCHEDULE["sales-apply-grade-rules"] = {
    "task": "sales.tasks.apply_grade_rules",
    "schedule": crontab(hour=4, minute=0),
}

# --- Journeys (automations/) -----------------------------------------------------------------
# At most this many marketing emails per contact in 7 days, campaigns and journeys together,
# checked when a journey's email step runs; 0 = no cap.
MARKETING_EMAILS_PER_7_DAYS = env_int("MARKETING_EMAILS_PER_7_DAYS", 0, minimum=0)
JOURNEY_TICK_SECONDS = env_float("JOURNEY_TICK_SECONDS", 5.0, minimum=0.5)
# Segment, date and inactivity triggers scan every contact, so a journey runs them at most this
# often (event triggers such as joined a list or clicked are read every tick).
JOURNEY_SCHEDULED_TRIGGER_SECONDS = env_float("JOURNEY_SCHEDULED_TRIGGER_SECONDS", 60.0, minimum=0.0)
# Enrolments one worker claims and moves at once, and how long its claim lasts if it dies.
JOURNEY_BATCH_SIZE = env_int("JOURNEY_BATCH_SIZE", 2000, minimum=1)
JOURNEY_LEASE_SECONDS = env_int("JOURNEY_LEASE_SECONDS", 120, minimum=1)
# Parallel advance tasks a tick enqueues at most (each loops over batches until nothing is due).
JOURNEY_WORKERS = env_int("JOURNEY_WORKERS", 2, minimum=1)
# Step runs of enrolments finished longer ago than this are summarised per step and deleted.
JOURNEY_STEP_RUN_RETENTION_DAYS = env_int("JOURNEY_STEP_RUN_RETENTION_DAYS", 90, minimum=1)
APP_BEAT_SCHEDULE["automations-tick"] = {"task": "automations.tasks.tick", "schedule": JOURNEY_TICK_SECONDS}
APP_BEAT_SCHEDULE["automations-purge-step-runs"] = {
    "task": "automations.tasks.purge_step_runs",
    "schedule": crontab(hour=3, minute=45),
}

# reports: sends, bounces, complaints and unsubscribes into the roll-ups (opens/clicks come with the
# drain), as often as the drain runs by default so every figure lags its events alike.
REPORTS_CATCH_UP_SECONDS = env_float("REPORTS_CATCH_UP_SECONDS", 5.0, minimum=1.0)
APP_BEAT_SCHEDULE["reports-catch-up"] = {"task": "reports.tasks.catch_up", "schedule": REPORTS_CATCH_UP_SECONDS}
# List growth's hours are recounted nightly, so deleted contacts and resubscriptions (which clear
# an unsubscribe date) leave past figures as the subscriptions have them by the next morning.
APP_BEAT_SCHEDULE["reports-recount-growth"] = {
    "task": "reports.tasks.recount_growth",
    "schedule": crontab(hour=3, minute=20),
}

# --- Privacy: a person's data (privacy/) ---------------------------------------------------
# Key of the hash that keeps an erased address in the suppression list (contacts/erased.py).
# Set it once and never change it: another key forgets every erased address. Default: SECRET_KEY.
ERASURE_HASH_KEY = env_str("ERASURE_HASH_KEY")
# Tracking events (sends, deliveries, opens, clicks...) older than this are counted per contact,
# campaign and kind, then deleted; 0 keeps them for ever. At least 7: scores read 6 months back.
RETENTION_EVENTS_MONTHS = env_int("RETENTION_EVENTS_MONTHS", 24, minimum=0)
if 0 < RETENTION_EVENTS_MONTHS < 7:
    raise ConfigError("RETENTION_EVENTS_MONTHS: 0 (keep) or at least 7, the engagement score reads 6 months back")
# Uploaded import files and their error reports are deleted this many days after the import finished; 0 keeps them.
RETENTION_IMPORT_FILES_DAYS = env_int("RETENTION_IMPORT_FILES_DAYS", 30, minimum=0)
# How long the link to a person's own data export (emailed on request) works.
PRIVACY_EXPORT_LINK_HOURS = env_int("PRIVACY_EXPORT_LINK_HOURS", 72, minimum=1)
# Directories of log files Rapport is configured to write; erasure removes the lines naming the person.
PRIVACY_LOG_DIRS = [Path(path) for path in env_list("PRIVACY_LOG_DIRS", str(VAR_DIR / "log"))]
APP_BEAT_SCHEDULE["privacy-retention"] = {
    "task": "privacy.tasks.apply_retention",
    "schedule": crontab(hour=4, minute=5),
}
