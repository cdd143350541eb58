"""Services the test suite needs, started once per test process and stopped at exit."""

import atexit
import os

from devtools.services import RedisServer

_started: list[RedisServer] = []


def start_test_services() -> None:
    """Start a throwaway redis-server unless REDIS_URL already names one."""
    # Not the SMTP sink a local `make run` may have left its port for: tests bring their own.
    os.environ.setdefault("EMAIL_URL", "console://")
    # Nor the SITE_URL (and port) it recorded: links in tests are predictable.
    os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
    if os.environ.get("REDIS_URL") or _started:
        return
    server = RedisServer().start()
    _started.append(server)
    atexit.register(server.stop)
    os.environ["REDIS_URL"] = server.url
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
