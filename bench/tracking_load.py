"""Open/click endpoints under load: gunicorn serving /t/o/ and /t/c/, wrk generating the
load on the same machine, then the event buffer drained into Activity.

    .venv/bin/python -m bench.tracking_load [--seconds 20] [--connections 64] [--workers 3]

Uses DATABASE_URL when set; otherwise starts a throwaway PostgreSQL cluster. Always starts
a private Redis. Prints requests/s, latency percentiles, errors, and how many events reached
Activity compared with the responses wrk counted.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devtools.services import benchmark_services, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local counter = math.random(#paths)
request = function()
  counter = counter %% #paths + 1
  return wrk.format("GET", paths[counter], {["User-Agent"] = "%s"})
end
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8, help="per worker; 1 means gunicorn's sync worker")
    parser.add_argument("--recipients", type=int, default=2000)
    args = parser.parse_args()

    os.environ.update(DJANGO_SETTINGS_MODULE="config.settings", SECURE_SSL_REDIRECT="0", DEBUG="0")
    with benchmark_services():
        run(args)


def prepare_paths(recipients: int) -> list[str]:
    """A sent campaign with three links, and per recipient one open and three click paths."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from campaigns.models import Campaign, CampaignLink, Message
    from contacts.models import Contact
    from contacts.tokens import Purpose, TokenData, click_tokens, make_token
    from tests.factories import CampaignFactory

    call_command("migrate", verbosity=0)
    campaign = CampaignFactory(status=Campaign.Status.SENT)
    CampaignLink.objects.bulk_create(
        CampaignLink(campaign=campaign, index=i, url=f"https://shop.example.com/p/{i}") for i in range(3)
    )
    Contact.objects.bulk_create(
        Contact(email=f"load{i}@example.com", email_domain="example.com") for i in range(recipients)
    )
    sent_at = timezone.now() - timezone.timedelta(hours=1)
    Message.objects.bulk_create(
        Message(
            campaign=campaign,
            contact=contact,
            email=contact.email,
            domain="example.com",
            status="sent",
            sent_at=sent_at,
        )
        for contact in Contact.objects.all()
    )
    paths = []
    for message in Message.objects.all():
        paths.append("/t/o/" + make_token(TokenData(Purpose.OPEN, message.contact_id, message.pk, campaign.pk)))
        paths += ["/t/c/" + token for token in click_tokens(message.contact_id, message.pk, campaign.pk, 3)]
    return paths


def run(args) -> None:
    paths = prepare_paths(args.recipients)
    workdir = Path(tempfile.mkdtemp(prefix="rapport-load-"))
    (workdir / "paths.txt").write_text("\n".join(paths) + "\n")
    (workdir / "load.lua").write_text(LUA % (workdir / "paths.txt", USER_AGENT))
    port = free_port()
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            *(["--worker-class", "gthread", "--threads", str(args.threads)] if args.threads > 1 else []),
            "--log-level",
            "warning",
            "--keep-alive",
            "30",
        ],
        cwd=ROOT,
        env={**os.environ},
    )
    try:
        wait_for_port(port, process=gunicorn)
        subprocess.run(
            ["wrk", "-t1", "-c4", "-d2s", "-s", str(workdir / "load.lua"), f"http://127.0.0.1:{port}"],
            check=True,
            capture_output=True,
        )  # warm-up: imports, connections
        from contacts.models import Activity
        from tracking import services

        services.drain_events()
        before = Activity.objects.count()
        wrk = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{args.connections}",
                f"-d{args.seconds}s",
                "--latency",
                "-s",
                str(workdir / "load.lua"),
                f"http://127.0.0.1:{port}",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)
    print(wrk.stdout)
    start = time.perf_counter()
    drained = services.drain_events()
    drain_seconds = time.perf_counter() - start
    recorded = Activity.objects.count() - before
    completed = int(re.search(r"(\d+) requests in", wrk.stdout).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk.stdout)
    socket_errors = re.search(r"Socket errors: (.*)", wrk.stdout)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", wrk.stdout).group(1)
    p99 = re.search(r"99%\s+(\S+)", wrk.stdout).group(1)
    print(f"requests/s:               {rate}")
    print(f"p99 latency:              {p99}")
    print(f"non-2xx/3xx responses:    {errors.group(1) if errors else 0}")
    print(f"socket errors:            {socket_errors.group(1) if socket_errors else 'none'}")
    print(f"responses counted by wrk: {completed}")
    print(f"events in Activity:       {recorded} (drained {drained} in {drain_seconds:.1f}s)")
    print("(requests still in flight when wrk stops are served and recorded but not counted by wrk)")


if __name__ == "__main__":
    main()
