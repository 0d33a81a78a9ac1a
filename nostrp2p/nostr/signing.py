"""BIP-340 Schnorr signatures over secp256k1 (through coincurve) for Nostr events."""

from __future__ import annotations

import os

from coincurve import PrivateKey, PublicKeyXOnly

from . import limits
from .errors import EventError
from .event import Event, Tags, compute_id

# Parsed public keys of recent authors, oldest first (a dict keeps insertion order): parsing
# a key is a sixth of a verification, and most events come from authors seen before. Only
# valid keys are kept; a forger's junk keys are parsed, refused and forgotten.
_parsed_keys: dict[bytes, PublicKeyXOnly] = {}


def xonly_public_key(secret: bytes) -> bytes:
    """The 32-byte x-only public key of a 32-byte secret key."""
    return PrivateKey(secret).public_key_xonly.format()


def schnorr_sign(secret: bytes, message: bytes, aux_rand: bytes | None = None) -> bytes:
    if aux_rand is None:
        aux_rand = os.urandom(32)
    return PrivateKey(secret).sign_schnorr(message, aux_rand)


def schnorr_verify(pubkey: bytes, message: bytes, sig: bytes) -> bool:
    """True when ``sig`` is a valid BIP-340 signature; False for any invalid key or signature."""
    if len(pubkey) != 32 or len(sig) != 64:
        return False
    key = _parsed_keys.get(pubkey)
    if key is None:
        try:
            key = PublicKeyXOnly(pubkey)
        except ValueError:
            # Not an x coordinate on the curve (or not below the field size): no signature is
            # valid.
            return False
        if len(_parsed_keys) >= limits.PARSED_KEYS_CACHED:
            del _parsed_keys[next(iter(_parsed_keys))]
        _parsed_keys[pubkey] = key
    try:
        return key.verify(sig, message)
    except ValueError:
        return False


def signatures_valid(items) -> list[bool]:
    """Whether each ``(pubkey, message, sig)`` is a valid BIP-340 signature: a batch checked in
    one tight loop, which keeps libsecp256k1's tables in the CPU's cache."""
    return [schnorr_verify(pubkey, message, sig) for pubkey, message, sig in items]


def sign_event(secret: bytes, created_at: int, kind: int, tags: Tags, content: str) -> Event:
    """Make a complete, signed event (what a client does; the server itself never holds a secret
    key except in tests and tools)."""
    pubkey = xonly_public_key(secret)
    tags = tuple(tuple(tag) for tag in tags)
    event_id = compute_id(pubkey, created_at, kind, tags, content)
    return Event(event_id, pubkey, created_at, kind, tags, content, schnorr_sign(secret, event_id))


def verify_event(event: Event) -> None:
    """Raise :class:`EventError` unless the id matches the content and the signature is valid."""
    if not event.id_matches():
        raise EventError("id", "does not match the event's NIP-01 serialisation")
    if not schnorr_verify(event.pubkey, event.id, event.sig):
        raise EventError("sig", "is not a valid BIP-340 signature of the id by the pubkey")
