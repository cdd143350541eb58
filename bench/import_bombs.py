"""Benchmark: the upload bombs of issue 10, each opened by the mapping page and run as an import job.

    .venv/bin/python -m bench.import_bombs

Generates the bombs (a 409 KB XLSX holding one 400 MB cell; a 1.7 KB XLSX declaring
A1:XFD1048576; a small XLSX of 2,000,000 invalid rows; a CSV of 10,000 columns) and the
largest file accepted (1,000,000 invalid rows, CONTACTS_IMPORT_MAX_ROWS), then for
each runs, as separate processes against a fresh SQLite database and a throwaway Redis,
``devtools.upload_bombs probe`` (what the mapping page does) and ``devtools.upload_bombs job``
(what the worker does: count, import, error report), printing wall time, peak resident
memory and the outcome. Target: each refused or imported within 10 s and 300 MB. The time
printed first is the work itself; the second adds starting Python and Django, which on a busy
machine dominates.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.services import RedisServer  # noqa: E402
from devtools.upload_bombs import bad_rows_xlsx, dimension_xlsx, huge_cell_xlsx, wide_csv  # noqa: E402


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, dict]:
    """Run one child; its own wall time, peak RSS (from wait4, not a running maximum) and JSON output."""
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, json.loads(output)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-bombs-"))
    bombs = {
        "400 MB cell": huge_cell_xlsx(workdir / "cell.xlsx", megabytes=400),
        "A1:XFD1048576": dimension_xlsx(workdir / "dimension.xlsx"),
        "2,000,000 bad rows": bad_rows_xlsx(workdir / "rows.xlsx", rows=2_000_000),
        "1,000,000 bad rows (the row limit: imported, not refused)": bad_rows_xlsx(
            workdir / "limit.xlsx", rows=1_000_000
        ),
        "10,000 columns": wide_csv(workdir / "wide.csv", columns=10_000),
    }
    env = {**os.environ, "RAPPORT_VAR_DIR": str(workdir / "var"), "SECURE_SSL_REDIRECT": "0", "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    redis = RedisServer().start()
    try:
        env["REDIS_URL"] = redis.url
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        for name, path in bombs.items():
            print(f"{name}: {path.stat().st_size / 1024:,.1f} KB on disk")
            for step in ("probe", "job"):
                seconds, peak_mb, result = measured(
                    [sys.executable, "-m", "devtools.upload_bombs", step, str(path)], env
                )
                print(
                    f"  {step:5} {result['seconds']:5.2f} s of work ({seconds:4.1f} s with process start-up), "
                    f"peak RSS {peak_mb:4.0f} MB: {result['outcome']}"
                )
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
