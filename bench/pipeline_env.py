"""Shared setup of the send-pipeline benchmarks: PostgreSQL, Redis, workers, sinks, a newsletter.

PostgreSQL and Redis are throwaway servers started here unless DATABASE_URL / REDIS_URL
are set. Import this module first: it configures Django.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from devtools.services import PostgresCluster, RedisServer, free_port, wait_for_port  # noqa: E402

_started: list = []


def start_services() -> None:
    """PostgreSQL and Redis for this run (stopped by :func:`stop_services`), then Django."""
    if not os.environ.get("DATABASE_URL"):
        cluster = PostgresCluster().start()
        _started.append(cluster)
        os.environ["DATABASE_URL"] = cluster.url
    if not os.environ.get("REDIS_URL"):
        redis = RedisServer().start()
        _started.append(redis)
        os.environ["REDIS_URL"] = redis.url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def stop_services() -> None:
    for service in reversed(_started):
        service.stop()


def seed_contacts(count: int, domains: list[str]) -> int:
    """``count`` subscribed contacts on one new list, generated inside PostgreSQL; returns the list id."""
    from django.db import connection
    from django.utils import timezone

    from contacts.models import MailingList

    mailing_list = MailingList.objects.create(name=f"Bench {time.time()}", slug=f"bench-{time.time_ns()}")
    now = timezone.now()
    domain_array = "ARRAY[" + ",".join(f"'{domain}'" for domain in domains) + "]"
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM contacts_contact")
        start = cursor.fetchone()[0] + 1
        cursor.execute(
            f"""
            INSERT INTO contacts_contact (email, email_domain, first_name, last_name, company, job_title, phone,
                industry, region, city, country, language, time_zone, customer_type, grade, source, custom_fields,
                notes, status, verification, verification_reason, engagement_score, standing, frequency,
                created_at, updated_at, consent_method, consent_form)
            SELECT 'user' || n || '@' || d, d, 'Name' || n, 'Last', 'Company ' || (n %% 500), '', '', '', '',
                'City', '', '', '', '', '', 'import', '{{}}', '', 'subscribed', 'unchecked', '', 0, 'active',
                'every', %s, %s, 'import', ''
            FROM generate_series(%s, %s) AS n, LATERAL (SELECT ({domain_array})[1 + n %% {len(domains)}] AS d) AS x
            """,  # noqa: S608 - bench-only SQL with our own constants
            [now, now, start, start + count - 1],
        )
        cursor.execute(
            "INSERT INTO contacts_subscription (contact_id, mailing_list_id, status, created_at) "
            "SELECT id, %s, 'subscribed', %s FROM contacts_contact WHERE id >= %s",
            [mailing_list.pk, now, start],
        )
        cursor.execute("ANALYZE")
    return mailing_list.pk


def newsletter_campaign(list_id: int, size_kb: int = 40):
    """A draft campaign: about ``size_kb`` KB of personalised HTML with 25 tracked links."""
    from campaigns.models import Campaign, SenderIdentity
    from templates_mail.models import Layout

    paragraph = (
        "<p>Our new collection brings lighter materials, better insulation and a fit designed with our "
        "customers, {{ contact.first_name }}. Every piece is tested in the field for a full season.</p>"
    )
    links = "".join(f'<p><a href="https://shop.example.com/item/{n}">Product {n}</a></p>' for n in range(25))
    # Inlined styles and quoted-printable roughly double the source: aim at the size on the wire.
    filler = paragraph * (size_kb * 1024 // (2 * len(paragraph)))
    layout = Layout.objects.create(
        name=f"Bench {time.time_ns()}",
        html=(
            "<!doctype html><html><head><style>p{color:#333;font-family:Arial}</style></head><body>"
            "<h1>Hello {{ contact.first_name }} at {{ contact.company }}</h1>{{ content }}"
            f"{filler}{links}"
            '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> <a href="{{ preferences_url }}">Preferences</a> '
            "{{ postal_address }}</p></body></html>"
        ),
    )
    sender, _ = SenderIdentity.objects.get_or_create(email="news@example.com", defaults={"name": "Bench News"})
    campaign = Campaign.objects.create(
        name=f"Bench {time.time_ns()}", subject="News for {{ contact.first_name }}", sender=sender, layout=layout
    )
    campaign.include_lists.add(list_id)
    return campaign


class Workers:
    """``count`` separate `celery worker -c 1` processes against this run's database and Redis."""

    def __init__(self, count: int, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "-c", "1"]
        command += ["--without-heartbeat", "--without-mingle", "--without-gossip"]
        full_env = {**os.environ, **env}
        self.processes = [
            subprocess.Popen([*command, "-n", f"bench{n}@%h"], cwd=ROOT, env=full_env, start_new_session=True)
            for n in range(count)
        ]

    def rss_mb(self) -> list[tuple[float, float]]:
        """Resident set of each worker as (main process, pool children) in MB."""
        return [
            (_rss_kb(process.pid) / 1024, sum(_rss_kb(child) for child in _children(process.pid)) / 1024)
            for process in self.processes
        ]

    def cpu_seconds(self) -> float:
        """User + system CPU used so far by the workers' pool children."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for process in self.processes:
            for child in _children(process.pid):
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()  # warm shutdown: the running task finishes
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


@contextmanager
def postfix_sink():
    """Postfix's smtp-sink (a fast C test server) on a loopback port; yields its smtp:// URL."""
    binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not Path(binary).exists():
        raise SystemExit("smtp-sink not found: apt-get install postfix")
    port = free_port()
    process = subprocess.Popen(
        [binary, "-u", "nobody", f"127.0.0.1:{port}", "1000"], stdout=subprocess.DEVNULL, start_new_session=True
    )
    wait_for_port(port, process=process)
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


def wait_finished(campaign, timeout: float, on_tick=None) -> float:
    """Seconds from now until the campaign is sent (calls ``on_tick`` every 0.5 s)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        campaign.refresh_from_db()
        if campaign.status not in {"scheduled", "sending"}:
            return time.monotonic() - started
        if on_tick:
            on_tick()
        time.sleep(0.5)
    raise SystemExit(f"campaign not finished after {timeout}s: {campaign.status}")
