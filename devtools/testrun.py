"""`make test`: lint, then the suite on SQLite, then again on PostgreSQL.

Arguments go to pytest (`python -m devtools.testrun tests/contacts -x`); `--no-lint`
skips the lint step while iterating.

With DATABASE_URL set, the suite runs once, on that database. Otherwise it runs on
SQLite and, where PostgreSQL server binaries are on PATH, again on a throwaway cluster
without the browser suite (tests/e2e), which drives pages rather than queries.
"""

import os
import subprocess
import sys
from pathlib import Path

from devtools.services import PostgresCluster, RedisServer, ensure_command


def run(command: list[str], env: dict[str, str] | None = None) -> int:
    print(f"\n$ {' '.join(command)}", flush=True)
    return subprocess.call(command, env=env)


def pytest(database_url: str | None, label: str, extra: list[str]) -> int:
    env = dict(os.environ)
    if database_url:
        env["DATABASE_URL"] = database_url
    print(f"\n=== test suite on {label} ===", flush=True)
    return run([sys.executable, "-m", "pytest", *extra], env)


def install_browser_suite_packages() -> None:
    """axe-core, which the browser suite injects into each page, from the lock file."""
    suite = Path(__file__).resolve().parent.parent / "tests" / "e2e"
    if (suite / "node_modules" / "axe-core").exists():
        return
    npm = ensure_command("npm", "npm")
    if npm and run([npm, "ci", "--prefix", str(suite), "--no-audit", "--no-fund", "--loglevel=error"]):
        print("npm ci failed: the browser suite's accessibility checks will fail", file=sys.stderr)


def main() -> int:
    extra = [arg for arg in sys.argv[1:] if arg != "--no-lint"]
    ruff = str(Path(sys.executable).parent / "ruff")
    lint = "--no-lint" not in sys.argv
    if lint and (run([ruff, "check", "."]) or run([ruff, "format", "--check", "."])):
        print("lint failed: run `make format` and fix what `make lint` reports", file=sys.stderr)
        return 1

    # The browser tests drive Debian's Chromium; without it they are skipped, never failed.
    ensure_command("chromium", "chromium")
    install_browser_suite_packages()
    redis = None
    if not os.environ.get("REDIS_URL"):
        redis = RedisServer().start()
        os.environ["REDIS_URL"] = redis.url
    try:
        if os.environ.get("DATABASE_URL"):
            return pytest(os.environ["DATABASE_URL"], "DATABASE_URL", extra)
        status = pytest(None, "SQLite", extra)
        if not PostgresCluster.available():
            print("PostgreSQL binaries (initdb, pg_ctl) not on PATH: skipped the PostgreSQL run.")
            return status
        cluster = PostgresCluster().start()
        try:
            # The browser suite drives pages, not queries, and has just run on SQLite: the second
            # pass skips it to keep `make test` within CI's time budget (with DATABASE_URL set,
            # the single run includes it).
            return pytest(cluster.url, "PostgreSQL", [*extra, "--ignore=tests/e2e"]) or status
        finally:
            cluster.stop()
    finally:
        if redis:
            redis.stop()


if __name__ == "__main__":
    sys.exit(main())
