"""How well tracking.bounces classifies a corpus of real returned mail.

    .venv/bin/python bench/bounce_corpus.py [--corpus DIR] [--half train|holdout] [--seed N] [-v]

DIR (default: the copy in tests/tracking/data/sisimai) holds ``*.eml`` (or ``samples/*.eml``)
and ``expected.json`` in the layout of the public sisimai ``set-of-emails`` corpus (one
entry per bounced recipient with its RFC 3463 status and sisimai's reason). Prints:

- detection: bounces classified hard or soft with the expected number of recipients, each a
  real address that is neither the bounce's own sender nor its addressee;
- hard/soft: of those, the class agreeing with the expected status's first digit;
- complaints, auto-replies and success notices classified as such (complaint, auto_reply, unknown);
- the reason's agreement with sisimai's where the two name the same thing;
- the throughput of reading and classifying (one process);
- the misses, per mail system (the file name's second word).

``--half`` splits the corpus at random (``--seed``) so that rules found on one half can be
checked on the other.
"""

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from email.utils import getaddresses
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = "sqlite:///:memory:"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

import django

django.setup()

from tracking import bounces  # noqa: E402
from tracking.bounce_reasons import BounceKind  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "tracking" / "data" / "sisimai"
# sisimai's reason names for the reasons we record; the others have no counterpart.
COMPARABLE_REASONS = {
    "userunknown": "mailbox_unknown",
    "mailboxfull": "mailbox_full",
    "hostunknown": "host_unknown",
    "expired": "expired",
    "spamdetected": "spam",
    "policyviolation": "policy",
}
NOT_BOUNCES = {"feedback": BounceKind.COMPLAINT, "vacation": BounceKind.AUTO_REPLY, "delivered": BounceKind.UNKNOWN}


def system(name: str) -> str:
    parts = name.split("-")
    return parts[1] if len(parts) > 2 else name


def sender(message) -> set[str]:
    return {addr.lower() for _, addr in getaddresses(message.get_all("From", []))}


def check(path: Path, expected: list[dict], reasons: Counter) -> tuple[str, str]:
    """(outcome, detail): outcome is ok, missed, recipients, class or other."""
    [message] = bounces.read_messages(path)
    result = bounces.classify(message)
    wanted_reason = COMPARABLE_REASONS.get(expected[0]["reason"])
    if wanted_reason and len(expected) == 1:
        reasons["compared"] += 1
        reasons["agreed"] += result.reason == wanted_reason
    got = f"{result.kind} {result.recipients} {result.status} {result.reason}"
    reasons = {entry["reason"] for entry in expected}
    if reasons & NOT_BOUNCES.keys():
        wanted = NOT_BOUNCES[next(iter(reasons & NOT_BOUNCES.keys()))]
        return ("ok" if result.kind == wanted else "other"), f"want {wanted}, got {got}"
    if result.kind not in {BounceKind.HARD, BounceKind.SOFT}:
        return "missed", f"got {got}"
    own = sender(message)
    recipients = {address.lower() for address in result.recipients}
    if len(recipients) != len(expected) or recipients & own or not all("@" in r for r in recipients):
        return "recipients", f"want {len(expected)} recipients, got {got}"
    hard = any(entry["status"].startswith("5") for entry in expected)
    if (result.kind == BounceKind.HARD) != hard:
        return "class", f"want {[e['status'] for e in expected]}, got {got}"
    return "ok", got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=FIXTURES)
    parser.add_argument("--half", choices=["train", "holdout"])
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every miss")
    args = parser.parse_args()

    expected = json.loads((args.corpus / "expected.json").read_text())
    names = sorted(expected)
    if args.half:
        shuffled = random.Random(args.seed).sample(names, len(names))
        names = sorted(shuffled[: len(names) // 2] if args.half == "train" else shuffled[len(names) // 2 :])

    samples = args.corpus / "samples" if (args.corpus / "samples").is_dir() else args.corpus
    outcomes: Counter = Counter()
    reasons: Counter = Counter()
    misses: dict[str, list[str]] = {}
    bounce_total = other_total = 0
    started = time.perf_counter()
    for name in names:
        outcome, detail = check(samples / name, expected[name], reasons)
        is_bounce = not ({e["reason"] for e in expected[name]} & NOT_BOUNCES.keys())
        bounce_total += is_bounce
        other_total += not is_bounce
        outcomes[outcome] += 1
        if outcome != "ok":
            misses.setdefault(system(name), []).append(f"{name}: {outcome}: {detail}")

    elapsed = time.perf_counter() - started
    detected = bounce_total - outcomes["missed"]
    with_recipients = detected - outcomes["recipients"]
    right_class = with_recipients - outcomes["class"]
    print(f"files: {len(names)} ({bounce_total} bounces, {other_total} other)")
    print(f"detected as bounces: {detected / bounce_total:.1%}")
    print(f"detected with the right recipients: {with_recipients / bounce_total:.1%}")
    print(f"hard/soft right: {right_class / bounce_total:.1%}")
    if other_total:
        print(f"complaints/auto-replies/success notices right: {1 - outcomes['other'] / other_total:.1%}")
    print(
        f"read and classified {len(names)} files in {elapsed:.2f} s ({len(names) / elapsed:.0f} messages/s, one core)"
    )
    if reasons["compared"]:
        agreed = reasons["agreed"] / reasons["compared"]
        print(f"reason agrees with sisimai's, where comparable: {agreed:.1%} of {reasons['compared']}")
    for name, lines in sorted(misses.items(), key=lambda item: -len(item[1])):
        print(f"  {name}: {len(lines)} missed")
        if args.verbose:
            for line in lines:
                print(f"    {line}")


if __name__ == "__main__":
    main()
