"""Where the client's secret key comes from: a file (--key-file), the environment
(NOSTRP2P_SECRET_KEY), or a prompt without echo (a line of standard input when that is not a
terminal, for a password manager's pipe). The key stays in this process: it signs events
here, and it is never sent, printed, logged nor written anywhere."""

from __future__ import annotations

import getpass
import os
import sys

from ..nostr.keys import KeyFormatError, KeyPair, decode_key
from . import limits
from .errors import ClientError

SECRET_ENV = "NOSTRP2P_SECRET_KEY"


def _parse(text: str, where: str) -> KeyPair:
    try:
        decoded = decode_key(text.strip())
    except KeyFormatError as e:
        raise ClientError(f"the secret key from {where} is not an nsec or 64 hex: {e}") from None
    if decoded.kind == "npub":
        raise ClientError(f"{where} holds a public key (npub); signing needs the secret key (nsec)")
    try:
        return KeyPair.from_secret(decoded.key)
    except Exception:  # out of the curve's range
        raise ClientError(f"the secret key from {where} is not a valid secp256k1 key") from None


def _prompt(question: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(question)
    line = sys.stdin.readline(limits.MAX_SECRET_FILE_BYTES)
    if not line:
        raise EOFError
    return line


def load_key_pair(key_file: str | None, environ=os.environ, prompt=_prompt) -> KeyPair:
    if key_file:
        try:
            with open(key_file, "r", encoding="utf-8") as f:
                text = f.read(limits.MAX_SECRET_FILE_BYTES + 1)
        except OSError as e:
            raise ClientError(f"--key-file: cannot read {key_file}: {e.strerror}") from None
        if len(text) > limits.MAX_SECRET_FILE_BYTES:
            raise ClientError(f"--key-file: {key_file} is too long to be a key")
        return _parse(text, key_file)
    if environ.get(SECRET_ENV):
        return _parse(environ[SECRET_ENV], SECRET_ENV)
    try:
        text = prompt("Secret key (nsec or hex, not echoed): ")
    except (EOFError, KeyboardInterrupt):
        raise ClientError("no secret key: give --key-file FILE, set "
                          f"{SECRET_ENV}, or type it at the prompt") from None
    return _parse(text, "the prompt")
