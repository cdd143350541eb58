"""`make run`: one command that brings up the whole platform locally.

Starts (or reuses) a private Redis under var/redis, an SMTP sink keeping mail in
var/mail, migrates, ensures an admin user, then runs the web server, a Celery worker
and Celery beat until interrupted. Data in var/ survives restarts.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from devtools.services import RedisServer, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PYTHON = sys.executable


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def remembered_port(name: str, preferred: int) -> int:
    """A port kept in var/ so restarts reuse the same Redis data and URLs."""
    path = VAR / f"{name}.port"
    if path.exists():
        return int(path.read_text())
    port = preferred if not port_in_use(preferred) else free_port()
    path.write_text(str(port))
    return port


def record_site_url(web_port: int) -> str:
    """SITE_URL for this run, kept in var/site_url like the service ports, so a manage.py
    command in another terminal (render_message, send_campaign) writes links to this server."""
    site_url = os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{web_port}")
    (VAR / "site_url").write_text(site_url)
    return site_url


def manage(*args: str) -> None:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT)
    if result.returncode:
        sys.exit(result.returncode)


def login_line() -> str:
    """ensure_admin keeps the password it generated under var/; a password set later is the user's."""
    password_file = VAR / "admin_password"
    if password_file.exists():
        return f"admin / {password_file.read_text().strip()}"
    return "admin, with the password you set"


def banner(web_port: int, email_url: str, redis_url: str) -> str:
    """The last thing `make run` prints, once every service answers: where to go and how to log in."""
    sink = email_url.startswith("smtp://127.0.0.1:") and (VAR / "smtp-sink.port").exists()
    mail = "kept in var/mail/, read it with `make mailbox`" if sink else f"delivered through {email_url.split('@')[-1]}"
    return "\n".join(
        [
            "",
            "  Rapport is running.",
            f"  Admin:   http://127.0.0.1:{web_port}/admin/",
            f"  Log in:  {login_line()}",
            f"  Mail:    {mail}",
            f"  Redis:   {redis_url}",
            "  Stop with Ctrl-C.",
            "",
        ]
    )


def wait_for_worker(timeout: float = 120) -> None:
    """The banner comes last, after the worker's start-up lines: once a worker answers a ping."""
    from config.celery import app  # reads the settings this process has just put in the environment

    try:
        app.send_task("rapport.ping").get(timeout=timeout)
    except Exception as error:  # the banner still helps; say why the worker is not confirmed
        print(f"rapport: the Celery worker did not answer within {timeout:.0f} s ({error})", file=sys.stderr)


def main() -> None:
    VAR.mkdir(exist_ok=True)
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    web_port = int(os.environ.get("PORT", "8000"))
    record_site_url(web_port)
    children: list[subprocess.Popen] = []

    if not os.environ.get("REDIS_URL"):
        port = remembered_port("redis", 6390)
        redis = RedisServer(port=port, data_dir=VAR / "redis")
        if not port_in_use(port):
            redis.start()
            children.append(redis.process)
        os.environ["REDIS_URL"] = redis.url
    if not os.environ.get("EMAIL_URL"):
        sink_port = remembered_port("smtp-sink", 1025)
        if not port_in_use(sink_port):
            children.append(
                subprocess.Popen(
                    [PYTHON, "-m", "devtools.smtp_sink", "--port", str(sink_port), "--directory", str(VAR / "mail")],
                    cwd=ROOT,
                )
            )
            wait_for_port(sink_port, process=children[-1])
        os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{sink_port}"

    manage("check")
    manage("migrate", "--no-input", "-v", "0")
    manage("ensure_admin")
    # --quiet: no start-up banners of Celery's own above ours.
    celery = [PYTHON, "-m", "celery", "-A", "config", "--quiet"]
    children.append(subprocess.Popen([*celery, "worker", "-l", "info", "-c", "2", "-Q", "celery"], cwd=ROOT))
    # One person's own mail (confirmations, reminders) never waits behind a campaign's batches.
    transactional = ["-Q", "transactional", "-c", "1", "-n", "transactional@%h"]
    children.append(subprocess.Popen([*celery, "worker", "-l", "info", *transactional], cwd=ROOT))
    children.append(subprocess.Popen([*celery, "beat", "-l", "info", "-s", str(VAR / "celerybeat-schedule")], cwd=ROOT))
    web = subprocess.Popen([PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{web_port}"], cwd=ROOT)
    children.append(web)
    wait_for_port(web_port, timeout=60, process=web)
    wait_for_worker()
    print(banner(web_port, os.environ["EMAIL_URL"], os.environ["REDIS_URL"]), flush=True)

    def stop(*_: object) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(child.poll() is None for child in children):
        time.sleep(1)
    print("rapport: a service stopped; shutting down the others", file=sys.stderr)
    stop()


if __name__ == "__main__":
    main()
