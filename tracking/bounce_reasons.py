"""What returned mail is and why it failed: the bounce kinds, RFC 3463 status codes, and the
reason behind a failure (from the status when it is specific, else from the server's words)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class BounceKind(StrEnum):
    """What a returned message is (the ``kind`` of process_bounces --json and of ReturnedMail)."""

    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"
    AUTO_REPLY = "auto_reply"
    # A mailto List-Unsubscribe request, recognised before any bounce reading.
    UNSUBSCRIBE = "unsubscribe"
    UNKNOWN = "unknown"


# RFC 3463: class.subject.detail; sisimai-style private details (5.0.947) are still statuses.
STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
# Why a message failed: first the RFC 3463 details that name the reason outright; X.7.1 and the like are policy or spam,
# which only the words tell apart.
REASONS_BY_STATUS = [
    (re.compile(r"^\d\.1\.[1346]$|^\d\.2\.1$"), "mailbox_unknown"),
    (re.compile(r"^\d\.1\.2$|^\d\.4\.4$"), "host_unknown"),
    (re.compile(r"^\d\.2\.2$"), "mailbox_full"),
    (re.compile(r"^\d\.4\.7$"), "expired"),
]
REASONS_BY_TEXT = [
    (
        "rate_limited",
        r"rate.?limit|too many (messages|connections|recipients|mails)|throttl|sending quota|"
        r"exceeded the (rate|limit)|too much mail",
    ),
    (
        "spam",
        r"spam|junk|blacklist|blocklist|block ?list|black ?list|\bRBL\b|\bDNSBL\b|reputation|"
        r"spamhaus|barracuda|banned|content (was )?rejected|virus|malware|phish",
    ),
    (
        "mailbox_full",
        r"mailbox (is )?full|quota|exceeded storage|mailbox exceeds|"
        r"insufficient (storage|disk)|mailbox size|full mailbox|storage (space|allocation)|not enough space",
    ),
    (
        "host_unknown",
        r"host (or domain name )?(not found|unknown)|unknown host|domain (not found|does not exist)|"
        r"no mx|name service error|unrouteable|unroutable|no such domain|nxdomain|domain.{0,20}(invalid|unknown)|"
        r"host not found|dns lookup fail|domain (is )?not reachable",
    ),
    (
        "mailbox_unknown",
        r"user (unknown|not found|doesn.t exist)|unknown (user|recipient|local|mailbox)|"
        r"no such (user|mailbox|recipient|address)|mailbox (unavailable|not found|does not exist)|"
        r"(address|recipient|account|user|mailbox).{0,30}(does not exist|doesn.t exist|not exist|not found|"
        r"invalid|unknown|disabled|inactive|suspended|deactivated)|invalid (recipient|address|user|mailbox)|"
        r"not a valid|unknown address|not our customer|no mailbox|"
        r"(doesn.t|does not) have an? .{0,40}account|addressee unknown|unknown or illegal alias|has moved|"
        r"no longer (valid|in use|active|exists?|available)|not listed in .{0,40}directory|"
        r"recipient name is not recognized|recipient not found",
    ),
    (
        "expired",
        r"expired|retry time|too long|gave up|giving up|for (\d+|several|many) (days|hours)|"
        r"timed? ?out|could not be delivered within|maximum time",
    ),
    (
        "policy",
        r"policy|not (permitted|allowed|authori[sz]ed)|relay|denied|access|authenticat|\bSPF\b|"
        r"\bDMARC\b|\bDKIM\b|\bPTR\b|reverse|refused|prohibited|forbidden|not accepted|security|filter|"
        r"rejected|blocked",
    ),
]
REASON_TEXT = [(reason, re.compile(pattern, re.I)) for reason, pattern in REASONS_BY_TEXT]
REASONS_BY_STATUS_CLASS = [(re.compile(r"^\d\.7\."), "policy")]
# Reasons about the recipient's address itself; only these take it out of the sending pool.
RECIPIENT_REASONS = frozenset({"mailbox_unknown", "host_unknown"})


@dataclass
class Failure:
    recipient: str
    status: str | None = None
    temporary: bool = False
    diagnostic: str = ""
    # The rest of the notice, read for a reason when the diagnostic itself names none.
    context: str = ""

    @property
    def reason(self) -> str:
        return reason_for(self.status, self.diagnostic, self.context)


def reason_for(status: str | None, diagnostic: str, context: str = "") -> str:
    """The reason behind a failure: what the status says when it is specific, else what
    the server's words say (the diagnostic first, then the notice around it), else the
    status's class."""
    for pattern, reason in REASONS_BY_STATUS:
        if status and pattern.match(status):
            return reason
    for words in (diagnostic, context):
        words = " ".join(words.split())
        for reason, pattern in REASON_TEXT:
            if pattern.search(words):
                return reason
    for pattern, reason in REASONS_BY_STATUS_CLASS:
        if status and pattern.match(status):
            return reason
    return "other"


def status_code(text: str) -> str | None:
    """The first RFC 3463 status code in ``text`` (a DSN field, an ESP's MTA response)."""
    match = STATUS_RE.search(text)
    return match.group(0) if match else None
