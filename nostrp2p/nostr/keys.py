"""Nostr keys: generation and the NIP-19 bech32 forms (npub, nsec) through the bech32 package."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import bech32
from coincurve import PrivateKey

from .signing import xonly_public_key

_HEX64 = re.compile(r"[0-9a-fA-F]{64}\Z")


class KeyFormatError(ValueError):
    """A key string that is not what it must be; the message says what was expected."""


@dataclass(frozen=True)
class DecodedKey:
    kind: str  # "npub", "nsec" or "hex" (a bare 32-byte hex string: public or secret is unknown)
    key: bytes


def nip19_encode(prefix: str, key: bytes) -> str:
    words = bech32.convertbits(key, 8, 5, True)
    return bech32.bech32_encode(prefix, words)


def nip19_decode(text: str) -> DecodedKey:
    prefix, words = bech32.bech32_decode(text.strip())
    if prefix is None or words is None:
        raise KeyFormatError("not a valid bech32 string (bad characters or checksum)")
    if prefix not in ("npub", "nsec"):
        raise KeyFormatError(f"unsupported NIP-19 prefix {prefix!r}: expected npub or nsec")
    data = bech32.convertbits(words, 5, 8, False)
    if data is None or len(data) != 32:
        raise KeyFormatError(f"{prefix} must carry exactly 32 bytes")
    return DecodedKey(prefix, bytes(data))


def decode_key(text: str) -> DecodedKey:
    """npub, nsec or 64 hex characters."""
    text = text.strip()
    if _HEX64.match(text):
        return DecodedKey("hex", bytes.fromhex(text))
    if text[:4].lower() in ("npub", "nsec"):
        return nip19_decode(text)
    raise KeyFormatError("expected an npub, an nsec or 64 hexadecimal characters")


def parse_public_key(text: str) -> bytes:
    """The owner's public key from an npub or 64 hex characters; refuses an nsec loudly because
    a secret key must never be given to the server."""
    decoded = decode_key(text)
    if decoded.kind == "nsec":
        raise KeyFormatError(
            "this is a secret key (nsec); the server needs only the public key (npub). "
            "Keep the secret key in your client"
        )
    return decoded.key


def generate_secret() -> bytes:
    """A uniformly random valid secp256k1 secret key."""
    while True:
        candidate = os.urandom(32)
        try:
            PrivateKey(candidate)
        except ValueError:  # zero or >= the curve order: astronomically rare, draw again
            continue
        return candidate


@dataclass(frozen=True)
class KeyPair:
    secret: bytes
    public: bytes

    @classmethod
    def generate(cls) -> "KeyPair":
        return cls.from_secret(generate_secret())

    @classmethod
    def from_secret(cls, secret: bytes) -> "KeyPair":
        return cls(secret, xonly_public_key(secret))

    @property
    def nsec(self) -> str:
        return nip19_encode("nsec", self.secret)

    @property
    def npub(self) -> str:
        return nip19_encode("npub", self.public)
