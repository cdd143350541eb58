"""Telling machines from people: privacy-proxy opens and security-scanner clicks.

Machine events are kept (reports show totals) but flagged, and never count towards a
contact's engagement. Signals at request time: the user agent and the IP range. Signals
at drain time: how soon after delivery the event came, and a burst of clicks on many
links of one message at once.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from functools import cache

from django.conf import settings

# Apple Mail Privacy Protection fetches through Apple's own network with a bare agent;
# other entries are prefetching proxies and link scanners that announce themselves.
PROXY_AGENT = re.compile(r"^Mozilla/5\.0$|^$|GoogleImageProxy.*prefetch|Barracuda|Mimecast|Proofpoint", re.I)
SCANNER_AGENT = re.compile(
    r"bot\b|crawler|spider|scan|Barracuda|Mimecast|Proofpoint|urldefense|SafeLinks|BingPreview|"
    r"python-requests|python-urllib|curl/|wget/|Go-http-client|HeadlessChrome|PhantomJS|okhttp|Java/",
    re.I,
)
PROXY_NETWORKS = [ipaddress.ip_network(net) for net in ("17.0.0.0/8", "2620:149::/32", "2a01:b740::/32")]
# An event this soon after the message was sent is a machine's: no person is that quick
# (checked by the database as events are inserted, see tracking/ingest.py).
MACHINE_SECONDS = 5
# Clicks on this many distinct links of one message within BURST_SECONDS: a scanner.
BURST_LINKS, BURST_SECONDS = 3, 2.0


def is_proxy_open(user_agent: str, ip: str) -> bool:
    return bool(PROXY_AGENT.search(user_agent)) or _in_proxy_network(ip)


def is_scanner_click(user_agent: str) -> bool:
    return bool(SCANNER_AGENT.search(user_agent))


def _in_proxy_network(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in PROXY_NETWORKS)


def burst_messages(clicks: list[tuple[int, int | None, float]]) -> set[int]:
    """Messages whose (message_id, link_index, timestamp) clicks hit BURST_LINKS distinct
    links within BURST_SECONDS: someone followed every link at once."""
    by_message: dict[int, list[tuple[float, int | None]]] = {}
    for message_id, link_index, timestamp in clicks:
        by_message.setdefault(message_id, []).append((timestamp, link_index))
    flagged = set()
    for message_id, hits in by_message.items():
        if len({link for _, link in hits}) < BURST_LINKS:
            continue
        hits.sort()
        for start, (first, _) in enumerate(hits):
            window = {link for moment, link in hits[start:] if moment - first <= BURST_SECONDS}
            if len(window) >= BURST_LINKS:
                flagged.add(message_id)
                break
    return flagged


@cache
def _ip_key() -> bytes:
    return hmac.new(b"rapport.tracking.ip", settings.SECRET_KEY.encode(), hashlib.sha256).digest()


def hash_ip(ip: str) -> str:
    """A salted, keyed hash: the same address maps to the same value, the address itself is never stored."""
    if not ip:
        return ""
    return hmac.new(_ip_key(), ip.encode(), hashlib.sha256).hexdigest()[:20]
