"""Signup confirmations under load: their latency while a big campaign sends, and a flood.

    .venv/bin/python bench/signups.py [--recipients 100000] [--signups 60] [--flood 10000] [--budget 500]

Starts what `make run` starts: gunicorn, two campaign workers (queue celery) and one
transactional worker, against throwaway PostgreSQL and Redis, with Postfix's smtp-sink.

1. A campaign to ``--recipients`` contacts starts; once it is sending, ``--signups`` visitors
   POST the form over HTTP (one every 0.25 s, each from its own loopback address). Prints the
   time from each POST to its confirmation being accepted by the SMTP server (the pending
   signup's ``sent_at``, written when the server answered 250): p50, p95, max; and how many
   campaign messages were still unsent at the end (the campaign was sending throughout).
2. ``--flood`` POSTs in one minute from 100 loopback addresses (127.0.1.1-100, fresh email
   addresses each time), while a probe GETs another public page every 0.5 s. Prints how the
   POSTs were answered, how many confirmations went out against SIGNUP_CONFIRMATIONS_PER_HOUR
   (``--budget``), and the probe's p95 and worst answer.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlencode

from pipeline_env import (
    ROOT,
    Workers,
    free_port,
    newsletter_campaign,
    postfix_sink,
    seed_contacts,
    start_services,
    stop_services,
    wait_for_port,
)

CELERY = [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "-c", "1"]


def post(port: int, path: str, fields: dict, source: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        body = urlencode(fields)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1"}
        connection.request("POST", path, body, headers)
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def get(port: int, path: str) -> tuple[int, float]:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        status = connection.getresponse().status
    except OSError:
        status = 0
    finally:
        connection.close()
    return status, time.monotonic() - started


def fields(email: str) -> dict:
    from signups import abuse

    return {"email": email, abuse.TIMESTAMP_FIELD: abuse.form_timestamp(time.time() - 10)}


def web_server(env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "3",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    wait_for_port(port, process=process)
    return process, port


def latency_while_sending(port: int, slug: str, campaign, signups: int) -> None:
    from campaigns import services
    from campaigns.models import Message
    from signups.models import PendingSignup

    services.send_now(campaign)
    while not Message.objects.filter(campaign=campaign, status=Message.Status.SENT).exists():
        time.sleep(0.5)
    for n in range(signups):
        post(port, f"/f/{slug}/", fields(f"visitor{n}@example.com"), f"127.0.2.{n % 250 + 1}")
        time.sleep(0.25)
    deadline = time.monotonic() + 120
    while PendingSignup.objects.exclude(state="sent").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    unsent = Message.objects.filter(campaign=campaign).exclude(status=Message.Status.SENT).count()
    campaign.refresh_from_db()
    if campaign.status == campaign.Status.SENDING:
        services.cancel(campaign)
    rows = PendingSignup.objects.filter(state="sent").values_list("created_at", "sent_at")
    delays = sorted((sent - created).total_seconds() for created, sent in rows)
    p95 = delays[max(0, int(len(delays) * 0.95) - 1)]
    print(
        f"confirmations: {len(delays)} of {signups} handed to SMTP; POST to 250: "
        f"p50 {statistics.median(delays):.2f} s, p95 {p95:.2f} s, max {delays[-1]:.2f} s; "
        f"{unsent:,} campaign messages still unsent at the end"
    )


def flood(port: int, slug: str, total: int, budget: int) -> None:
    from signups.models import PendingSignup

    PendingSignup.objects.all().delete()
    statuses: Counter = Counter()
    probe: list[tuple[int, float]] = []
    done = threading.Event()
    per_address = total // 100

    def attacker(address: int) -> None:
        for n in range(per_address):
            due = started + n * 60 / per_address
            time.sleep(max(0.0, due - time.monotonic()))
            statuses[post(port, f"/f/{slug}/", fields(f"f{address}-{n}@example.com"), f"127.0.1.{address}")] += 1

    def prober() -> None:
        while not done.is_set():
            probe.append(get(port, f"/f/{slug}/"))
            time.sleep(0.5)

    started = time.monotonic()
    threads = [threading.Thread(target=attacker, args=(address,)) for address in range(1, 101)]
    probe_thread = threading.Thread(target=prober)
    for thread in [*threads, probe_thread]:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    done.set()
    probe_thread.join()
    time.sleep(10)  # let the transactional worker finish the queue
    states = Counter(PendingSignup.objects.values_list("state", flat=True))
    waits = sorted(seconds for _, seconds in probe)
    print(f"flood: {sum(statuses.values()):,} POSTs in {elapsed:.0f} s, answered {dict(statuses)}")
    print(f"pending signups by state {dict(states)}; confirmations sent {states.get('sent', 0)} (budget {budget})")
    print(
        f"probe GET /f/{slug}/ during the flood: {len(waits)} requests, "
        f"statuses {dict(Counter(status for status, _ in probe))}, p95 {waits[int(len(waits) * 0.95) - 1]:.2f} s, "
        f"max {waits[-1]:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--signups", type=int, default=60)
    parser.add_argument("--flood", type=int, default=10_000)
    parser.add_argument("--budget", type=int, default=500)
    args = parser.parse_args()
    start_services()
    try:
        from contacts.models import MailingList
        from signups.models import SignupForm, SignupFormList

        list_id = seed_contacts(args.recipients, ["example.com", "example.net", "example.org", "example.edu"])
        form = SignupForm.objects.create(name="Bench news", slug=f"bench-{time.time_ns()}", consent_text="Yes.")
        SignupFormList.objects.create(
            form=form, mailing_list=MailingList.objects.create(name="Signups", slug=form.slug)
        )
        campaign = newsletter_campaign(list_id)
        with postfix_sink() as url:
            env = {
                "EMAIL_URL": url,
                "SIGNUP_CHALLENGE": "0",
                "EMAIL_CHECK_DNS": "0",
                "SIGNUP_CONFIRMATIONS_PER_HOUR": str(args.budget),
                "SECURE_SSL_REDIRECT": "0",
                "SITE_URL": "http://127.0.0.1",
            }
            server, port = web_server(env)
            campaign_workers = Workers(2, {**env, "SEND_RATE_PER_SECOND": "1000000"})
            transactional = subprocess.Popen(
                [*CELERY, "-Q", "transactional", "-n", "transactional@%h", "--without-heartbeat", "--without-mingle"],
                cwd=ROOT,
                env={**os.environ, **env},
                start_new_session=True,
            )
            try:
                time.sleep(5)  # let the workers connect
                latency_while_sending(port, form.slug, campaign, args.signups)
                flood(port, form.slug, args.flood, args.budget)
            finally:
                for process in (server, transactional):
                    process.terminate()
                    process.wait(30)
                campaign_workers.stop()
    finally:
        stop_services()


if __name__ == "__main__":
    main()
