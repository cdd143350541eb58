"""CPU per signed message: Rapport's OpenSSL signer against dkimpy's pure-Python one.

    .venv/bin/python bench/dkim_sign.py [--messages 500] [--size 48000]

Signs the same message (a quoted-printable HTML body of --size bytes with the headers a
campaign message carries) with a fresh RSA-2048 key, then RSA + Ed25519, then with
dkimpy.sign alone, and prints the process CPU time per message of each. No server needed.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from campaigns import signing  # noqa: E402


def message(size: int) -> bytes:
    line = b'<p style=3D"margin:0 0 16px">Hello Ann, the winter collection is here: see it now.</p>\r\n'
    body = line * (size // len(line))
    head = (
        b"From: Rapport News <news@example.com>\r\nTo: ann@example.com\r\nSubject: Winter news\r\n"
        b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1.2@example.com>\r\n"
        b"List-Unsubscribe: <https://example.com/u/abc>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
    )
    return head + b"\r\n" + body


def pem(key, folder: str, name: str) -> str:
    path = Path(folder) / name
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(path)


def per_message(sign, data: bytes, count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        sign(data)
    return (time.process_time() - start) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--size", type=int, default=48_000)
    options = parser.parse_args()
    data = message(options.size)
    with tempfile.TemporaryDirectory() as folder:
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rsa_path = pem(rsa_key, folder, "rsa.pem")
        ed_path = pem(ed25519.Ed25519PrivateKey.generate(), folder, "ed.pem")
        ours = [signing.load_key(rsa_path, "s1", "example.com")]
        both = [*ours, signing.load_key(ed_path, "s2", "example.com", ed25519=True)]
        private = Path(rsa_path).read_bytes()
        figures = {
            "rapport, RSA-2048": per_message(
                lambda raw: signing.sign(raw, "example.com", ours), data, options.messages
            ),
            "rapport, RSA-2048 + Ed25519": per_message(
                lambda raw: signing.sign(raw, "example.com", both), data, options.messages
            ),
            "dkimpy, RSA-2048": per_message(
                lambda raw: dkim.sign(raw, b"s1", b"example.com", private, canonicalize=(b"relaxed", b"simple")),
                data,
                max(20, options.messages // 10),
            ),
        }
    print(f"{len(data):,}-byte message, CPU per signed message:")
    for label, milliseconds in figures.items():
        print(f"  {label}: {milliseconds:.2f} ms")


if __name__ == "__main__":
    main()
