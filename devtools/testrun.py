"""`make test`: lint, then the suite on SQLite and on PostgreSQL, side by side.

Arguments go to pytest (`python -m devtools.testrun tests/contacts -x`); `--no-lint`
skips the lint step while iterating.

With DATABASE_URL set, the suite runs once, on that database. Otherwise it runs on
SQLite and, where PostgreSQL server binaries are on PATH, at the same time on a throwaway
cluster without the browser suite (tests/e2e), which drives pages rather than queries and runs
on its own afterwards.
Most of the suite's time is spent waiting on real workers, SMTP sinks and leases rather
than computing, so two passes side by side take little longer than one; each has its own
Redis and its own var/ directory, and the PostgreSQL pass's output follows the SQLite one's.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from devtools.services import PostgresCluster, RedisServer, ensure_command

ROOT = Path(__file__).resolve().parent.parent


def run(command: list[str], env: dict[str, str] | None = None) -> int:
    print(f"\n$ {' '.join(command)}", flush=True)
    return subprocess.call(command, env=env)


def pytest_command(extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", *extra]


def pass_env(redis: RedisServer, database_url: str | None = None, var_dir: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "REDIS_URL": redis.url}
    if database_url:
        env["DATABASE_URL"] = database_url
    if var_dir:
        env["RAPPORT_VAR_DIR"] = str(var_dir)
    return env


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
    if os.environ.get("DATABASE_URL"):
        print("\n=== test suite on DATABASE_URL ===", flush=True)
        if os.environ.get("REDIS_URL"):
            return run(pytest_command(extra))
        redis = RedisServer().start()
        try:
            return run(pytest_command(extra), pass_env(redis))
        finally:
            redis.stop()
    if not PostgresCluster.available():
        print("PostgreSQL binaries (initdb, pg_ctl) not on PATH: the suite runs on SQLite only.")
        redis = RedisServer().start()
        try:
            print("\n=== test suite on SQLite ===", flush=True)
            return run(pytest_command(extra), pass_env(redis))
        finally:
            redis.stop()
    return side_by_side(extra)


def side_by_side(extra: list[str]) -> int:
    """The SQLite and PostgreSQL passes at the same time (the PostgreSQL one into a log printed
    when both have finished), then the browser suite alone: it drives Chromium, a live server and
    real workers against one SQLite file, and the pages' timing should not depend on whatever the
    other pass is doing."""
    services: list[RedisServer | PostgresCluster] = []
    whole_suite = not [arg for arg in extra if not arg.startswith("-")]
    without_browser = [*extra, "--ignore=tests/e2e"]
    try:
        cluster = PostgresCluster().start()
        services.append(cluster)
        sqlite_redis, postgres_redis = RedisServer().start(), RedisServer().start()
        services += [sqlite_redis, postgres_redis]
        var_dir = ROOT / "var" / "test-postgresql"
        var_dir.mkdir(parents=True, exist_ok=True)
        log_path = var_dir / "pytest.log"
        started = time.monotonic()
        with log_path.open("w") as log:
            postgres = subprocess.Popen(
                pytest_command(without_browser),
                env=pass_env(postgres_redis, cluster.url, var_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            print("\n=== test suite on PostgreSQL: running alongside, its output follows ===", flush=True)
            print("\n=== test suite on SQLite ===", flush=True)
            sqlite_command = pytest_command(without_browser if whole_suite else extra)
            sqlite_status = subprocess.call(sqlite_command, env=pass_env(sqlite_redis))
            postgres_status = postgres.wait()
        print("\n=== test suite on PostgreSQL ===", flush=True)
        sys.stdout.write(log_path.read_text())
        browser_status = 0
        if whole_suite:
            print("\n=== browser suite (SQLite) ===", flush=True)
            browser_status = subprocess.call(pytest_command([*extra, "tests/e2e"]), env=pass_env(sqlite_redis))
        print(f"\nall passes finished in {time.monotonic() - started:.0f} s", flush=True)
        return sqlite_status or postgres_status or browser_status
    finally:
        for service in reversed(services):
            service.stop()


if __name__ == "__main__":
    sys.exit(main())
