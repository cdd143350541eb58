"""Run the local DNS stub by hand: answers MX/A/NXDOMAIN from a JSON table until interrupted.

    .venv/bin/python -m bench.dns_stub table.json      # {"example.com": {"MX": ["mx.example.com"]}, ...}
    DNS_NAMESERVERS=127.0.0.1:<port> .venv/bin/python manage.py validate_emails a@example.com --json

Table values are described in devtools/dns_stub.py; names missing from the table are NXDOMAIN.
"""

import json
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.dns_stub import DnsStub  # noqa: E402


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.dns_stub TABLE.json")
    table = json.loads(Path(sys.argv[1]).read_text())
    with DnsStub(table) as stub:
        print(f"DNS stub on {stub.address} answering {len(table)} names; DNS_NAMESERVERS={stub.address}", flush=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        print(f"answered {sum(stub.queries.values())} queries")


if __name__ == "__main__":
    main()
