"""A local SMTP server that keeps every message it accepts as an .eml file.

Run by ``make run`` so a new user can see what Rapport sent without any account
anywhere; ``python manage.py mailbox`` lists and prints what it kept.
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session


class MaildirHandler:
    """Saves each accepted message to ``directory`` with its envelope in X- headers."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd API
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        envelope_headers = (
            f"X-Rapport-Mail-From: {envelope.mail_from}\r\nX-Rapport-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
        )
        (self.directory / name).write_bytes(envelope_headers.encode() + envelope.original_content)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--directory", type=Path, required=True)
    args = parser.parse_args()
    controller = Controller(MaildirHandler(args.directory), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"SMTP sink on 127.0.0.1:{args.port}, keeping mail in {args.directory}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
