"""Free-text failure notices (qmail, Exim, Postfix's own text, Sendmail v5, OpenSMTPD,
Domino...): recognised by their null or mailer-daemon sender and their subject; their failed
recipients come from Exim's ``X-Failed-Recipients``, flufl.bounce's detectors, or the
addresses the explanation names, and their class from the enhanced status or SMTP reply
code quoted in that explanation."""

from __future__ import annotations

import logging
import re
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures

from tracking.bounce_reasons import STATUS_RE, Failure
from tracking.notice_parts import (
    ADDRESS_RE,
    has_part,
    header_text,
    notice_text,
    original_message,
    unique_addresses,
)

log = logging.getLogger(__name__)

# An SMTP reply code where a server's answer is quoted: "550 ...", "550-...", "<<< 421 ...".
REPLY_RE = re.compile(r"(?<![\w.:/+#=-])([45][0-5]\d)(?=[ -]+[A-Za-z<\[(\"'#]|\s*$)", re.M)
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
HELP_LINE = re.compile(r"contact|please (write|mail|send)|for (more )?(help|assistance|information)", re.I)


def looks_like_failure_notice(message: Message) -> bool:
    """A notice from the mail system rather than from a person: a mailer-daemon or
    postmaster sender, Exim's X-Failed-Recipients, a null sender with a failure subject or
    an attached original, or a failure subject over a quoted server reply."""
    if message.get("X-Failed-Recipients"):
        return True
    sender = " ".join(str(message.get(name, "")) for name in ("From", "Return-Path", "Sender"))
    null_sender = str(message.get("Return-Path", "")).strip() in {"<>", ""} and "Return-Path" in message
    subject = header_text(message, "Subject")
    if SYSTEM_SENDER.search(sender):
        return True
    failure_subject = bool(FAILURE_SUBJECT.search(subject))
    if null_sender and (failure_subject or has_part(message, "message/rfc822") or not subject):
        return True
    # A forwarded notice or an appliance's own wording: the subject and a quoted server reply.
    return failure_subject and bool(_reply_codes(notice_text(message)) or STATUS_RE.search(notice_text(message)))


def text_failures(message: Message, flufl: tuple[list[str], list[str]]) -> list[Failure]:
    """The failures a free-text notice reports: hard or soft by the status or reply code
    quoted next to each recipient, else by the notice's first one, else by its wording or
    flufl.bounce's verdict."""
    text = notice_text(message)
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
        return [a for a in unique_addresses(addresses) if a.lower() not in excluded and (_is_person(a) or not persons)]

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


def flufl_failures(message: Message) -> tuple[list[str], list[str]]:
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
