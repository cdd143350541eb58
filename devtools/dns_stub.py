"""A small UDP DNS server answering from a table, for tests and benchmarks.

Point the resolver at it with ``DNS_NAMESERVERS=127.0.0.1:<port>``. Each domain maps to
one of:

- ``{"MX": ["mx.example.net"], "A": ["192.0.2.1"], "AAAA": [...], "TXT": ["v=spf1 -all"]}`` — the
  records it has (TXT values unquoted: the stub splits them into 255-byte strings);
- ``"nxdomain"`` — the domain does not exist;
- ``"null-mx"`` — RFC 7505 null MX (``0 .``): the domain accepts no mail;
- ``"timeout"`` — the server never answers, as a slow or dead DNS server would.

Domains missing from the table get ``default`` (NXDOMAIN unless said otherwise). ``queries``
counts the questions asked per domain, so tests can check caching.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Answer = dict[str, list[str]] | str


class DnsStub:
    def __init__(self, table: dict[str, Answer] | None = None, default: Answer = "nxdomain", host: str = "127.0.0.1"):
        self.table = {name.lower().rstrip("."): answer for name, answer in (table or {}).items()}
        self.default = default
        self.queries: Counter[str] = Counter()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, 0))
        # recvfrom() is not woken by close(): poll, so stop() returns promptly.
        self._socket.settimeout(0.05)
        self.host, self.port = self._socket.getsockname()
        self._thread = threading.Thread(target=self._serve, name="dns-stub", daemon=True)
        self._running = False

    @property
    def address(self) -> str:
        """The value for DNS_NAMESERVERS."""
        return f"{self.host}:{self.port}"

    def start(self) -> DnsStub:
        self._running = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        if self._thread.is_alive():
            self._thread.join(5)
        self._socket.close()

    def __enter__(self) -> DnsStub:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _serve(self) -> None:
        while self._running:
            try:
                wire, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._answer(wire)
            if reply is not None:
                try:
                    self._socket.sendto(reply, client)
                except OSError:
                    return

    def _answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        question = query.question[0]
        domain = question.name.to_text(omit_final_dot=True).lower()
        self.queries[domain] += 1
        entry = self.table.get(domain, self.default)
        if entry == "timeout":
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if entry == "nxdomain":
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        records = {"MX": ["0 ."]} if entry == "null-mx" else _to_zone_text(entry)
        kind = dns.rdatatype.to_text(question.rdtype)
        if records.get(kind):
            response.answer.append(dns.rrset.from_text_list(question.name, 300, dns.rdataclass.IN, kind, records[kind]))
        return response.to_wire()


def _to_zone_text(entry: dict[str, list[str]]) -> dict[str, list[str]]:
    """Let tables write MX hosts bare ("mx.example.net") and TXT values unquoted; the zone text
    format needs a preference and quoted strings of at most 255 bytes (a DKIM key is longer)."""
    mx = [value if " " in value else f"10 {value.rstrip('.')}." for value in entry.get("MX", [])]
    txt = [" ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255)) for value in entry.get("TXT", [])]
    return {**entry, "MX": mx, "TXT": txt}
