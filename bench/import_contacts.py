"""Benchmark: `import_contacts` end to end on a generated file, DNS answered by a local stub.

    .venv/bin/python -m bench.import_contacts [--rows 100000] [--domains 2000] [--postgres]

The file has 10% invalid rows (bad syntax, domains that do not exist, typos of popular
providers, disposable providers), 5% duplicates (same address in another case) and
``--domains`` distinct domains. The import runs as its own process (``manage.py
import_contacts --json``) against a fresh database (SQLite by default, a throwaway
PostgreSQL cluster with ``--postgres``, or DATABASE_URL) and a throwaway Redis; wall
time and the peak resident memory of that process are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.dns_stub import DnsStub  # noqa: E402
from devtools.services import PostgresCluster, RedisServer  # noqa: E402


def generate(path: Path, rows: int, domain_count: int, seed: int = 7) -> dict[str, int]:
    """Write the CSV; returns how many rows of each kind it has."""
    rng = random.Random(seed)
    domains = [f"company{n}.example.net" for n in range(domain_count)]
    kinds = {"good": 0, "bad_syntax": 0, "no_domain": 0, "typo": 0, "disposable": 0, "duplicate": 0}
    emitted: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("Email,First Name,Last Name,Company,City,Grade,Tags\n")
        for n in range(rows):
            roll = rng.random()
            if roll < 0.04:
                kind, email = "bad_syntax", f"user{n}.at.{rng.choice(domains)}"
            elif roll < 0.07:
                kind, email = "no_domain", f"user{n}@gone{n % 300}.example.org"
            elif roll < 0.09:
                kind, email = "typo", f"user{n}@gmial.com"
            elif roll < 0.10:
                kind, email = "disposable", f"user{n}@mailinator.com"
            elif roll < 0.15 and emitted:
                kind, email = "duplicate", rng.choice(emitted).upper()
            else:
                kind, email = "good", f"user{n}@{domains[n % domain_count]}"
                emitted.append(email)
            kinds[kind] += 1
            grade = rng.choice("ABC ")
            handle.write(f"{email},First{n},Last{n},Company {n % 5000},City {n % 300},{grade.strip()},t{n % 20}\n")
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--domains", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true", help="Use a throwaway PostgreSQL cluster.")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-import-"))
    csv_path = workdir / "contacts.csv"
    kinds = generate(csv_path, args.rows, args.domains)
    print(f"file: {args.rows} rows, {csv_path.stat().st_size / 1e6:.1f} MB, {args.domains} domains; {kinds}")

    table = {f"company{n}.example.net": {"MX": [f"mx.company{n}.example.net"]} for n in range(args.domains)}
    services: list = []
    env = {**os.environ, "RAPPORT_VAR_DIR": str(workdir / "var"), "SECURE_SSL_REDIRECT": "0", "DNS_TIMEOUT": "1"}
    with DnsStub(table) as stub:
        env["DNS_NAMESERVERS"] = stub.address
        try:
            if not env.get("REDIS_URL"):
                services.append(RedisServer().start())
                env["REDIS_URL"] = services[-1].url
            if args.postgres and not env.get("DATABASE_URL"):
                services.append(PostgresCluster().start())
                env["DATABASE_URL"] = services[-1].url
            manage = [sys.executable, "manage.py"]
            subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
            database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postg") else "SQLite"
            for run in ("first run", "re-run (unchanged file)"):
                started = time.perf_counter()
                result = subprocess.run(
                    [*manage, "import_contacts", str(csv_path), "--json"],
                    cwd=ROOT,
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                elapsed = time.perf_counter() - started
                peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                summary = json.loads(result.stdout)
                counts = {key: summary[key] for key in ("rows", "created", "updated", "skipped", "unchanged")}
                print(
                    f"{database} {run}: {elapsed:.1f} s end to end ({args.rows / elapsed:,.0f} rows/s), "
                    f"peak RSS of the largest child so far {peak_mb:.0f} MB; {counts}, errors={summary['error_count']}"
                )
            print(f"DNS queries answered by the stub: {sum(stub.queries.values())} for {len(stub.queries)} names")
        finally:
            for service in reversed(services):
                service.stop()


if __name__ == "__main__":
    main()
