"""Reading returned mail: which recipients failed, with which status, and why.

The standards come first: RFC 5965 feedback reports are complaints; RFC 3464 delivery-status
fields give each recipient's action and RFC 3463 status, whether they arrive in their own
``message/delivery-status`` part (as they should) or pasted into the text of a notice (as
Amazon WorkMail, forwarded bounces and some appliances do). Amazon SES's JSON notifications
are read as such. Everything else is a free-text failure notice (qmail, Exim, Postfix's own
text, Sendmail v5, OpenSMTPD, DragonFly, Domino...): it is recognised by its null or
mailer-daemon sender and its subject, its failed recipients come from Exim's
``X-Failed-Recipients``, flufl.bounce's detectors, or the addresses its explanation names,
and its class from the enhanced status or SMTP reply code quoted in that explanation.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from email import message_from_bytes, message_from_string
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures

log = logging.getLogger(__name__)

HARD, SOFT, COMPLAINT, AUTO_REPLY, UNKNOWN = "hard", "soft", "complaint", "auto_reply", "unknown"

# RFC 3463: class.subject.detail; sisimai-style private details (5.0.947) are still statuses.
STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
# An SMTP reply code where a server's answer is quoted: "550 ...", "550-...", "<<< 421 ...".
REPLY_RE = re.compile(r"(?<![\w.:/+#=-])([45][0-5]\d)(?=[ -]+[A-Za-z<\[(\"'#]|\s*$)", re.M)
ADDRESS_RE = re.compile(r"[A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b")
SYSTEM_LOCAL_PARTS = re.compile(
    r"^(postmaster|post_master|mailer-daemon|mailer_daemon|mail-daemon|maildaemon|mailerdaemon|"
    r"hostmaster|abuse|root|noreply|no-reply|do-not-reply|donotreply|nobody)$",
    re.I,
)
SYSTEM_SENDER = re.compile(
    r"mailer[-_ ]?daemon|post_?master|mail delivery|delivery (sub)?system|mail ?administrator", re.I
)
FAILURE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (status )?(notification|failure|failed|has failed|problem|report)|"
    r"returned mail|return(ed)? to sender|failure notice|mail (delivery )?(system )?(error|failed|failure)|"
    r"could not be delivered|not (be )?delivered|delivery error|nondeliverable|non[- ]?remis|"
    r"unzustellbar|no entregado|non recapitabile|niet bezorgd|warning: could not send|rejected|"
    r"bounced?|delayed mail|error sending|message not delivered|permanent error|failed delivery",
    re.I,
)
TEMPORARY_TEXT = re.compile(
    r"\bdeferred\b|temporar|will (be )?retr|\bretrying\b|still (being )?tr(y|ied)|try again later|"
    r"has not yet been delivered|delivery (attempts? )?will continue|delayed|not yet delivered",
    re.I,
)
# Where a free-text notice stops explaining and starts quoting the original message: a
# separator line, or a short line announcing what follows.
ORIGINAL_PHRASE = re.compile(
    r"original message|copy of (the|your) message|below this line|headers? (of|from) (the )?original|"
    r"message headers follow|returned message|undelivered message|unsent message|forwarded message|"
    r"header of the original|rfc822 message|message text follows|original mail",
    re.I,
)
ORIGINAL_MARKER = re.compile(r"^\s*[-=*_]{2,}|(:|[-=*_]{2,}|follows?\.?|following\.?)\s*$", re.I)
HEADER_LINE = re.compile(
    r"^(Return-Path|Received|From|To|Cc|Subject|Message-I[dD]|Date|Delivered-To|MIME-Version|Content-Type|"
    r"Reply-To|Sender|X-[\w-]+|DKIM-Signature|References|In-Reply-To):[ \t]?",
    re.I,
)
DSN_FIELD = re.compile(r"^\s*(Final-Recipient|Original-Recipient|Action|Status|Diagnostic-Code)\s*:\s*(.*)$", re.I)

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


@dataclass
class Report:
    kind: str
    recipients: list[str] = field(default_factory=list)
    status: str | None = None
    reason: str | None = None
    # Each recipient's own (kind, status, reason), by lower-cased address.
    each: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)


def parse(message: Message) -> Report:
    """What kind of returned mail ``message`` is, for which recipients, with which status."""
    if _is_complaint(message):
        return Report(COMPLAINT, _arf_recipients(message))
    ses = _ses_notification(message)
    if ses is not None:
        return ses
    failures, delivered = _dsn_failures(message)
    if not failures and not delivered:
        flufl = _flufl(message)
        if any(flufl) or _looks_like_failure_notice(message):
            failures = _text_failures(message, flufl)
    if failures:
        return _report(failures)
    if delivered:
        return Report(UNKNOWN)
    if _is_auto_reply(message):
        return Report(AUTO_REPLY, _unique(addr for _, addr in getaddresses(message.get_all("From", []))))
    return Report(UNKNOWN)


def _report(failures: list[Failure]) -> Report:
    """One verdict for the message: hard when any recipient failed for good, with the
    first specific reason among those failures; and each recipient's own verdict."""
    each = {
        failure.recipient.lower(): (SOFT if failure.temporary else HARD, failure.status, failure.reason)
        for failure in failures
    }
    chosen = [failure for failure in failures if not failure.temporary] or failures
    reasons = [each[failure.recipient.lower()][2] for failure in chosen]
    return Report(
        SOFT if chosen[0].temporary else HARD,
        _unique(failure.recipient for failure in failures),
        next((failure.status for failure in chosen if failure.status), None),
        next((reason for reason in reasons if reason != "other"), "other"),
        each,
    )


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


# --- RFC 5965 -----------------------------------------------------------------------------------


def _report_type(message: Message) -> str:
    for part in _outside_originals(message):
        if part.get_content_type() == "multipart/report":
            return (part.get_param("report-type") or "").lower()
    return ""


def _has_part(message: Message, content_type: str) -> bool:
    return any(part.get_content_type() == content_type for part in _outside_originals(message))


def _is_complaint(message: Message) -> bool:
    """An RFC 5965 report, one whose feedback fields arrive as plain text, or Microsoft's
    JMRP report (its original recipient in X-HmXmrOriginalRecipient)."""
    if _report_type(message) == "feedback-report" or _has_part(message, "message/feedback-report"):
        return True
    if message.get("X-HmXmrOriginalRecipient"):
        return True
    return any(
        re.search(r"^Feedback-Type:\s*\w+", _decode(part), re.M) and re.search(r"^Version:\s*1", _decode(part), re.M)
        for part in _own_parts(message)
    )


def _arf_recipients(message: Message) -> list[str]:
    """RFC 5965: the feedback report's Original-Rcpt-To, else JMRP's original recipient,
    else the quoted message's To."""
    for part in _outside_originals(message):
        if part.get_content_type() == "message/feedback-report":
            found = [_bare(value) for block in _blocks(part) for value in block.get_all("Original-Rcpt-To", [])]
            if found:
                return _unique(found)
    fields = "\n".join(_decode(part) for part in _own_parts(message))
    found = re.findall(r"^Original-Rcpt-To:\s*<?([^>\s]+@[^>\s]+)>?", fields, re.M | re.I)
    found += [addr for _, addr in getaddresses(message.get_all("X-HmXmrOriginalRecipient", []))]
    if found:
        return _unique(found)
    original = original_message(message)
    return _unique(addr for _, addr in getaddresses(original.get_all("To", []))) if original else []


# --- Amazon SES notifications --------------------------------------------------------------------


def _ses_notification(message: Message) -> Report | None:
    """An SES notification delivered by mail (SNS email subscription): a JSON document with
    ``notificationType`` Bounce, Complaint or Delivery."""
    text = _decoded_text(message)
    start = text.find('{"notificationType"')
    if start < 0:
        return None
    # Sendmail folds lines longer than 990 characters with "!\n ": undo it before decoding.
    document = re.sub(r"!\r?\n ", "", text[start:])
    try:
        data, _ = json.JSONDecoder().raw_decode(document)
    except ValueError:
        return None
    kind = str(data.get("notificationType", "")).lower()
    if kind == "complaint":
        return Report(COMPLAINT, _unique(r.get("emailAddress", "") for r in data["complaint"]["complainedRecipients"]))
    if kind != "bounce":
        return Report(UNKNOWN)
    bounce = data.get("bounce", {})
    temporary = bounce.get("bounceType") != "Permanent"
    failures = [
        Failure(r.get("emailAddress", ""), _status(r.get("status", "")), temporary, r.get("diagnosticCode", ""))
        for r in bounce.get("bouncedRecipients", [])
    ]
    return _report(failures) if failures else None


# --- RFC 3464 ------------------------------------------------------------------------------------


def _dsn_failures(message: Message) -> tuple[list[Failure], bool]:
    """Per-recipient blocks of delivery-status fields: from the notice's own
    message/delivery-status parts, else from those of a notice it forwards as an attachment,
    else from its text; also whether any recipient was delivered."""
    blocks = _status_blocks(_outside_originals(message))
    if not any(_block_recipient(block) for block in blocks):
        blocks = _status_blocks(message.walk())
    if not any(_block_recipient(block) for block in blocks):
        blocks = _text_blocks(_notice_text(message, cut=False))
    failures, delivered = [], False
    context = _notice_text(message) if blocks else ""
    for block in blocks:
        recipient = _block_recipient(block)
        if not recipient:
            continue
        action = str(block.get("Action", "")).strip().lower()
        diagnostic = " ".join(str(block.get(name, "")) for name in ("Diagnostic-Code", "Status"))
        status = _status(str(block.get("Status", ""))) or _status(diagnostic)
        if action in {"delivered", "relayed", "expanded"}:
            delivered = True
            continue
        if action not in {"failed", "delayed"} and not (status and status[0] in "45"):
            continue
        temporary = status[0] == "4" if status and status[0] in "45" else action == "delayed"
        failures.append(Failure(recipient, status, temporary, diagnostic, context))
    return _merge(failures), delivered


def _status_blocks(parts) -> list[Message]:
    return [
        recipient_block
        for part in parts
        if _is_status_part(part)
        for block in _blocks(part)
        for recipient_block in _split_recipients(block)
    ]


def _split_recipients(block: Message) -> list[Message]:
    """Per-recipient blocks out of one, for MTAs that leave out the blank line between them:
    a new block starts when a per-recipient field comes round again."""
    per_recipient = {"final-recipient", "original-recipient", "action", "status"}
    blocks, seen = [Message()], set()
    for name, value in block.items():
        if name.lower() in per_recipient and name.lower() in seen:
            blocks.append(Message())
            seen = set()
        seen.add(name.lower())
        blocks[-1][name] = value
    return blocks


def _is_status_part(part: Message) -> bool:
    # message/global-delivery-status is RFC 6533's UTF-8 variant.
    return part.get_content_type() in {"message/delivery-status", "message/global-delivery-status"}


def _text_blocks(text: str) -> list[Message]:
    """Delivery-status blocks pasted into text, possibly quoted with "> " by a forward."""
    lines = [re.sub(r"^(>\s?)+", "", line) for line in text.splitlines()]
    blocks, current = [], []
    for line in [*lines, ""]:
        if DSN_FIELD.match(line) or (current and line[:1] in " \t" and line.strip()):
            current.append(line.strip() if DSN_FIELD.match(line) else " " + line.strip())
            continue
        if current and not re.match(r"^[\w-]+:", line):
            blocks.append(message_from_string("\n".join(current).replace("\n ", " ") + "\n\n"))
            current = []
    return blocks


def _block_recipient(block: Message) -> str:
    # Original-Recipient is the address as it was sent; Final-Recipient may be a rewrite.
    for name in ("Original-Recipient", "Final-Recipient"):
        for value in block.get_all(name, []):
            address = _bare(str(value))
            if ADDRESS_RE.fullmatch(address):
                return address
    return ""


def _merge(failures: list[Failure]) -> list[Failure]:
    """One failure per recipient: the permanent one when a recipient appears twice."""
    merged: dict[str, Failure] = {}
    for failure in failures:
        key = failure.recipient.lower()
        if key not in merged or (merged[key].temporary and not failure.temporary):
            merged[key] = failure
    return list(merged.values())


# --- free-text failure notices ---------------------------------------------------------------------


def _looks_like_failure_notice(message: Message) -> bool:
    """A notice from the mail system rather than from a person: a mailer-daemon or
    postmaster sender, Exim's X-Failed-Recipients, a null sender with a failure subject or
    an attached original, or a failure subject over a quoted server reply."""
    if message.get("X-Failed-Recipients"):
        return True
    sender = " ".join(str(message.get(name, "")) for name in ("From", "Return-Path", "Sender"))
    null_sender = str(message.get("Return-Path", "")).strip() in {"<>", ""} and "Return-Path" in message
    subject = _header_text(message, "Subject")
    if SYSTEM_SENDER.search(sender):
        return True
    failure_subject = bool(FAILURE_SUBJECT.search(subject))
    if null_sender and (failure_subject or _has_part(message, "message/rfc822") or not subject):
        return True
    # A forwarded notice or an appliance's own wording: the subject and a quoted server reply.
    return failure_subject and bool(_reply_codes(_notice_text(message)) or STATUS_RE.search(_notice_text(message)))


def _text_failures(message: Message, flufl: tuple[list[str], list[str]]) -> list[Failure]:
    """The failures a free-text notice reports: hard or soft by the status or reply code
    quoted next to each recipient, else by the notice's first one, else by its wording or
    flufl.bounce's verdict."""
    text = _notice_text(message)
    recipients = _notice_recipients(message, text, [*flufl[1], *flufl[0]])
    status, temporary = _quoted_class(text)
    if temporary is None:
        temporary = bool(TEMPORARY_TEXT.search(text)) or (bool(flufl[0]) and not flufl[1])
    failures = []
    for recipient in recipients:
        own_status, own_temporary = _quoted_class(_recipient_lines(text, recipient))
        if own_temporary is None:
            own_status, own_temporary = status, temporary
        failures.append(Failure(recipient, own_status, own_temporary, _diagnostic(text, recipient), text))
    return failures


def _quoted_class(text: str) -> tuple[str | None, bool | None]:
    """The first enhanced status quoted in ``text``, else the first SMTP reply code's class:
    (status, temporary), with temporary None when nothing is quoted."""
    status = next((match.group(0) for match in STATUS_RE.finditer(text) if match.group(1) in "45"), None)
    if status:
        return status, status[0] == "4"
    replies = _reply_codes(text)
    return None, (replies[0][0] == "4") if replies else None


def _recipient_lines(text: str, recipient: str) -> str:
    """The line naming ``recipient`` and the few after it, up to a blank line."""
    lines, chosen = text.splitlines(), []
    for index, line in enumerate(lines):
        if recipient.lower() in line.lower():
            for following in lines[index : index + 4]:
                if not following.strip():
                    break
                chosen.append(following)
    return "\n".join(chosen)


def _diagnostic(text: str, recipient: str) -> str:
    """The lines that explain one recipient's failure: those quoting a status or reply
    code, and the lines naming the recipient and following it."""
    coded = [line for line in text.splitlines() if STATUS_RE.search(line) or REPLY_RE.search(line)]
    return "\n".join([*coded, _recipient_lines(text, recipient)]).strip() or text


def _reply_codes(text: str) -> list[str]:
    return [match.group(1) for match in REPLY_RE.finditer(text)]


def _notice_recipients(message: Message, text: str, flufl: list[str]) -> list[str]:
    """Who failed: Exim's X-Failed-Recipients, the addresses the notice names, flufl.bounce's
    detectors, and as a last resort the quoted original's single addressee. Never the mail
    system or a message id; the notice's addressee and the original's sender (that is us)
    only when the notice names nobody else."""
    strong, weak = _not_recipients(message)

    def usable(addresses, excluded: set[str], *, persons: bool = True) -> list[str]:
        return [a for a in _unique(addresses) if a.lower() not in excluded and (_is_person(a) or not persons)]

    header = usable((addr for _, addr in getaddresses(message.get_all("X-Failed-Recipients", []))), strong)
    if header:
        return header
    named = _named_addresses(text)
    found = usable(flufl, strong | weak) or usable(named, strong | weak) or usable(named, strong, persons=False)
    if found:
        return found
    original = original_message(message)
    if original is not None:
        addressees = usable((addr for _, addr in getaddresses(original.get_all("To", []))), strong)
        if len(addressees) == 1:
            return addressees
    return []


HELP_LINE = re.compile(r"contact|please (write|mail|send)|for (more )?(help|assistance|information)", re.I)


def _named_addresses(text: str) -> list[str]:
    """Addresses in the notice's own words, leaving out senders, links and whoever the
    notice tells you to contact for help (wherever else it names them)."""
    found, helpers = [], set()
    for line in text.splitlines():
        line = re.sub(r"https?://\S+|mailto:\S+", " ", line)
        if HELP_LINE.search(line):
            helpers |= {address.lower() for address in ADDRESS_RE.findall(line)}
            continue
        if re.match(r"\s*(MAIL FROM|From|Sender|Return-Path|Reply-To|envelope-from)\b", line, re.I):
            continue
        found += ADDRESS_RE.findall(line)
    return [address for address in found if address.lower() not in helpers]


def _flufl(message: Message) -> tuple[list[str], list[str]]:
    """flufl.bounce's (temporary, permanent) failed addresses."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:
        log.warning("flufl.bounce could not read %s", message.get("Message-ID"), exc_info=True)
        return [], []
    return [a.decode(errors="replace") for a in temporary], [a.decode(errors="replace") for a in permanent]


def _not_recipients(message: Message) -> tuple[set[str], set[str]]:
    """Addresses that are not failed recipients: for sure (the notice's sender, message ids
    that look like addresses) and probably (the notice's addressee and the original's
    sender, which are us)."""
    strong = _header_addresses(message, ("From", "Sender", "Return-Path"))
    weak = _header_addresses(message, ("To", "Cc", "Reply-To", "Delivered-To", "Envelope-To"))
    original = original_message(message)
    if original is not None:
        weak |= _header_addresses(original, ("From", "Sender", "Return-Path", "Reply-To"))
    ids = " ".join(
        str(value)
        for part in (message, *([original] if original is not None else []))
        for name in ("Message-ID", "References", "In-Reply-To")
        for value in part.get_all(name, [])
    )
    strong |= {address.lower() for address in ADDRESS_RE.findall(ids)}
    return strong, weak


def _header_addresses(message: Message, names: tuple[str, ...]) -> set[str]:
    values = [str(value) for name in names for value in message.get_all(name, [])]
    return {address.lower() for _, address in getaddresses(values) if address}


def _is_person(address: str) -> bool:
    local = address.rsplit("@", 1)[0]
    return not SYSTEM_LOCAL_PARTS.match(local)


def _notice_text(message: Message, *, cut: bool = True) -> str:
    """The notice's own text: its text parts outside any quoted original, and with
    ``cut``, only up to where it starts quoting the original message."""
    text = "\n".join(_decode(part) for part in _own_parts(message))
    return _cut_at_original(text) if cut else text


def _outside_originals(message: Message):
    """Every part of ``message`` except what is inside an attached message: the report a
    notice quotes (a bounce of a bounce) is not the notice's own."""
    yield message
    if message.get_content_maintype() == "multipart" and message.is_multipart():
        for sub in message.get_payload():
            if isinstance(sub, Message):
                yield from _outside_originals(sub)


def _own_parts(message: Message):
    """The parts of ``message`` that are not inside an attached message."""
    if message.get_content_type() in {"message/rfc822", "text/rfc822-headers"}:
        return
    if message.is_multipart():
        for sub in message.get_payload():
            if isinstance(sub, Message):
                yield from _own_parts(sub)
    elif message.get_content_maintype() in {"text", "multipart"}:
        # A multipart whose boundary never appears is left as one string: read it as text.
        yield message


def _cut_at_original(text: str) -> str:
    return _split_at_original(text)[0]


def _split_at_original(text: str) -> tuple[str, str]:
    """The notice's explanation and what follows it (the quoted original, if any)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if ORIGINAL_PHRASE.search(line) and ORIGINAL_MARKER.search(line):
            return "\n".join(lines[:index]), "\n".join(lines[index + 1 :])
        # A block of three header lines is the quoted original's start.
        if all(HEADER_LINE.match(following) for following in lines[index : index + 3]) and index + 3 <= len(lines):
            return "\n".join(lines[:index]), "\n".join(lines[index:])
    return text, ""


def original_message(message: Message) -> Message | None:
    """The quoted original: an attached message/rfc822 or text/rfc822-headers part, or the
    headers quoted in the text of the notice after its explanation."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in {"message/rfc822", "message/global"}:
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]
            return message_from_bytes(part.get_payload(decode=True) or b"")
        if content_type == "text/rfc822-headers":
            return message_from_bytes(part.get_payload(decode=True) or b"")
    quoted = _split_at_original(_notice_text(message, cut=False))[1].lstrip("\n")
    start = next((match.start() for match in HEADER_LINE.finditer(quoted)), None) if quoted else None
    if start is None:
        start = next((m.start() for m in re.finditer(r"^[\w-]+:", quoted, re.M)), None) if quoted else None
    return message_from_string(quoted[start:]) if start is not None else None


# --- RFC 3834 ---------------------------------------------------------------------------------------

AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort|risposta|respuesta)|auto:|automatische antwort|"
    r"out of (the )?office|abwesenheit|absence|absent|vacation|r[ée]ponse automatique|"
    r"risposta automatica|respuesta autom[aá]tica|away from|自動応答|自動返信)",
    re.I,
)


def _is_auto_reply(message: Message) -> bool:
    """RFC 3834 Auto-Submitted: auto-replied, the older vendor headers, or an out-of-office
    subject; never a notice from the mail system itself."""
    if SYSTEM_SENDER.search(str(message.get("From", ""))):
        return False
    if str(message.get("Auto-Submitted", "no")).strip().lower().startswith("auto-replied"):
        return True
    vendor_headers = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation", "X-Autogenerated")
    if any(message.get(name) for name in vendor_headers):
        return True
    if str(message.get("Precedence", "")).strip().lower() == "auto_reply":
        return True
    return bool(AUTO_REPLY_SUBJECT.search(_header_text(message, "Subject")))


# --- small helpers -----------------------------------------------------------------------------------


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    # Some MTAs send the blocks base64- or QP-encoded: the parser leaves them as a string.
    text = part.get_payload(decode=True) or b""
    return [message_from_bytes(block) for block in re.split(rb"\r?\n\s*\r?\n", text) if block.strip()]


def _status(text: str) -> str | None:
    match = STATUS_RE.search(text)
    return match.group(0) if match else None


def _bare(value: str) -> str:
    """``rfc822; User@Example.com`` -> ``User@Example.com``."""
    return value.split(";", 1)[-1].strip().strip("<>").strip()


def _unique(addresses) -> list[str]:
    seen: dict[str, str] = {}
    for address in addresses:
        address = (address or "").strip().strip("<>.,;:'\"")
        if address and "@" in address:
            seen.setdefault(address.lower(), address)
    return list(seen.values())


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _decoded_text(message: Message) -> str:
    return "\n".join(_decode(part) for part in message.walk() if part.get_content_maintype() == "text")


def _header_text(message: Message, name: str) -> str:
    """A header with its RFC 2047 encoded words decoded."""
    try:
        return str(make_header(decode_header(str(message.get(name, "")))))
    except (HeaderParseError, LookupError, ValueError):
        return str(message.get(name, ""))
