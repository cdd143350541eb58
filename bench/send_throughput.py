"""End-to-end send throughput: send_now -> 2 worker processes -> Postfix smtp-sink on loopback.

    .venv/bin/python bench/send_throughput.py [--recipients 20000] [--workers 2] [--dkim] [--ed25519] [--compare]

A 40 KB personalised newsletter (merge fields, 25 tracked links), PostgreSQL and Redis on
this machine (throwaway servers unless DATABASE_URL / REDIS_URL are set), no throttle in the
way (SEND_RATE_PER_SECOND=1e6). With --dkim every message is signed with a fresh RSA-2048
key; --ed25519 adds a second, Ed25519 signature. --compare sends the same audience unsigned
and then signed, back to back, and prints the signed rate as a share of the unsigned one.
Prints messages per second from the start to the campaign being marked sent, and the
largest resident set seen per sending (pool) process.
"""

import argparse
import os
import subprocess
import tempfile
import time

from pipeline_env import (
    Workers,
    newsletter_campaign,
    postfix_sink,
    seed_contacts,
    start_services,
    stop_services,
    wait_finished,
)


def dkim_env(directory: str, ed25519: bool) -> dict[str, str]:
    key = os.path.join(directory, "dkim.pem")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    env = {"DKIM_SELECTOR": "bench", "DKIM_DOMAIN": "example.com", "DKIM_PRIVATE_KEY_PATH": key}
    if ed25519:
        ed_key = os.path.join(directory, "ed25519.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", ed_key], check=True, capture_output=True)
        env |= {"DKIM_ED25519_SELECTOR": "bench-ed", "DKIM_ED25519_PRIVATE_KEY_PATH": ed_key}
    return env


def send_once(list_id: int, url: str, worker_count: int, recipients: int, signing: dict[str, str], label: str) -> float:
    """One campaign to the whole list through fresh workers; prints its figures, returns msg/s."""
    from campaigns import delivery, services
    from campaigns.models import Message

    campaign = newsletter_campaign(list_id)
    env = {"EMAIL_URL": url, "SEND_RATE_PER_SECOND": "1000000", **signing}
    workers = Workers(worker_count, env)
    try:
        time.sleep(5)  # let the workers connect before the clock starts
        peak = [0.0] * worker_count
        cpu_before = workers.cpu_seconds()
        services.send_now(campaign)

        def sample() -> None:
            children = [child for _, child in workers.rss_mb()]
            peak[:] = [max(old, new) for old, new in zip(peak, children, strict=True)]

        elapsed = wait_finished(campaign, timeout=3600, on_tick=sample)
        cpu = workers.cpu_seconds() - cpu_before
    finally:
        workers.stop()
    sent = Message.objects.filter(campaign=campaign, status=Message.Status.SENT).count()
    size = len(delivery.to_bytes(_one(campaign)))
    print(f"{label}: {sent:,} of {recipients:,} sent in {elapsed:.1f} s = {sent / elapsed:,.0f} msg/s")
    print(
        f"worker CPU {cpu * 1000 / sent:.2f} ms per message (ceiling {sent / cpu:,.0f} msg/s per core "
        f"for the workers alone); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"message size {size / 1024:.1f} KB; peak RSS per sending process " + ", ".join(f"{mb:.0f} MB" for mb in peak)
    )
    return sent / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dkim", action="store_true")
    parser.add_argument("--ed25519", action="store_true", help="with --dkim: add an Ed25519 signature")
    parser.add_argument("--compare", action="store_true", help="send unsigned, then with --dkim's signing")
    args = parser.parse_args()
    start_services()
    directory = tempfile.mkdtemp(prefix="rapport-bench-")
    try:
        list_id = seed_contacts(args.recipients, ["example.com", "example.net", "example.org", "example.edu"])
        signing = dkim_env(directory, args.ed25519) if args.dkim else {}
        label = ("RSA-2048 + Ed25519 DKIM" if args.ed25519 else "RSA-2048 DKIM") if args.dkim else "no DKIM"
        with postfix_sink() as url:
            if args.compare:
                unsigned = send_once(list_id, url, args.workers, args.recipients, {}, "no DKIM")
            signed = send_once(list_id, url, args.workers, args.recipients, signing, label)
        if args.compare:
            print(f"{label} runs at {signed / unsigned:.0%} of the unsigned rate")
    finally:
        stop_services()


def _one(campaign):
    """One recipient's message, to report the size actually sent."""
    from campaigns import delivery
    from campaigns.models import Message

    message = Message.objects.filter(campaign=campaign).select_related("contact").first()
    return delivery.outgoing_for(campaign, message.contact, message_id=message.pk)


if __name__ == "__main__":
    main()
