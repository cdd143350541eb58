"""The anatomy of a returned message: its own text and parts versus the original it quotes,
the header blocks of report parts, and the decoding helpers every bounce reader shares."""

from __future__ import annotations

import re
from email import message_from_bytes, message_from_string
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message

ADDRESS_RE = re.compile(r"[A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b")
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


def has_part(message: Message, content_type: str) -> bool:
    return any(part.get_content_type() == content_type for part in outside_originals(message))


def notice_text(message: Message, *, cut: bool = True) -> str:
    """The notice's own text: its text parts outside any quoted original, and with
    ``cut``, only up to where it starts quoting the original message."""
    text = "\n".join(decoded_part(part) for part in own_parts(message))
    return _cut_at_original(text) if cut else text


def outside_originals(message: Message):
    """Every part of ``message`` except what is inside an attached message: the report a
    notice quotes (a bounce of a bounce) is not the notice's own."""
    yield message
    if message.get_content_maintype() == "multipart" and message.is_multipart():
        for sub in message.get_payload():
            if isinstance(sub, Message):
                yield from outside_originals(sub)


def own_parts(message: Message):
    """The parts of ``message`` that are not inside an attached message."""
    if message.get_content_type() in {"message/rfc822", "text/rfc822-headers"}:
        return
    if message.is_multipart():
        for sub in message.get_payload():
            if isinstance(sub, Message):
                yield from own_parts(sub)
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
    quoted = _split_at_original(notice_text(message, cut=False))[1].lstrip("\n")
    start = next((match.start() for match in HEADER_LINE.finditer(quoted)), None) if quoted else None
    if start is None:
        start = next((m.start() for m in re.finditer(r"^[\w-]+:", quoted, re.M)), None) if quoted else None
    return message_from_string(quoted[start:]) if start is not None else None


def header_blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    # Some MTAs send the blocks base64- or QP-encoded: the parser leaves them as a string.
    text = part.get_payload(decode=True) or b""
    return [message_from_bytes(block) for block in re.split(rb"\r?\n\s*\r?\n", text) if block.strip()]


def bare_address(value: str) -> str:
    """``rfc822; User@Example.com`` -> ``User@Example.com``."""
    return value.split(";", 1)[-1].strip().strip("<>").strip()


def unique_addresses(addresses) -> list[str]:
    seen: dict[str, str] = {}
    for address in addresses:
        address = (address or "").strip().strip("<>.,;:'\"")
        if address and "@" in address:
            seen.setdefault(address.lower(), address)
    return list(seen.values())


def decoded_part(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def decoded_text(message: Message) -> str:
    return "\n".join(decoded_part(part) for part in message.walk() if part.get_content_maintype() == "text")


def header_text(message: Message, name: str) -> str:
    """A header with its RFC 2047 encoded words decoded."""
    try:
        return str(make_header(decode_header(str(message.get(name, "")))))
    except (HeaderParseError, LookupError, ValueError):
        return str(message.get(name, ""))
