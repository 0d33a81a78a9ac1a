"""Signatures with a server's X25519 overlay key (XEdDSA, as Signal specifies it): the key that
authenticates its sessions also signs what must hold beyond one hop, such as a channel root's
numbering of its posts (channels.py). A signature verifies as Ed25519 under the Edwards form of
the X25519 public key (sign bit 0), so checking one is an ordinary Ed25519 verification."""

from __future__ import annotations

import functools
import hashlib
import os

from nacl import bindings
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

SIGNATURE_SIZE = 64
_P = 2 ** 255 - 19
_Q = 2 ** 252 + 27742317777372353535851937790883648493  # the order of the base point
_PREFIX = b"\xfe" + b"\xff" * 31  # hash1 of the XEdDSA specification


def _scalar(secret: bytes) -> bytes:
    clamped = bytearray(secret)
    clamped[0] &= 248
    clamped[31] &= 127
    clamped[31] |= 64
    return (int.from_bytes(clamped, "little") % _Q).to_bytes(32, "little")


def sign(secret: bytes, message: bytes) -> bytes:
    """``message`` signed with the X25519 private key ``secret`` (32 bytes)."""
    k = _scalar(secret)
    public = bindings.crypto_scalarmult_ed25519_base_noclamp(k)
    if public[31] & 0x80:  # the Edwards key with sign bit 0 is the one verifiers derive
        k = bindings.crypto_core_ed25519_scalar_negate(k)
        public = bindings.crypto_scalarmult_ed25519_base_noclamp(k)
    r = bindings.crypto_core_ed25519_scalar_reduce(
        hashlib.sha512(_PREFIX + k + message + os.urandom(64)).digest())
    big_r = bindings.crypto_scalarmult_ed25519_base_noclamp(r)
    h = bindings.crypto_core_ed25519_scalar_reduce(hashlib.sha512(big_r + public + message).digest())
    s = bindings.crypto_core_ed25519_scalar_add(r, bindings.crypto_core_ed25519_scalar_mul(h, k))
    return big_r + s


@functools.lru_cache(maxsize=1024)  # a follower checks the same few roots again and again
def _verify_key(public: bytes) -> VerifyKey:
    return VerifyKey(edwards(public))


def edwards(public: bytes) -> bytes:
    """The Ed25519 public key (sign bit 0) of the X25519 public key ``public``."""
    u = int.from_bytes(public, "little") & ((1 << 255) - 1)
    y = (u - 1) * pow(u + 1, _P - 2, _P) % _P
    return y.to_bytes(32, "little")


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``message`` signed with the X25519 key ``public``."""
    if len(signature) != SIGNATURE_SIZE or len(public) != 32:
        return False
    try:
        _verify_key(public).verify(message, signature)
    except (BadSignatureError, ValueError, TypeError):
        return False
    except Exception:  # libsodium refuses some points with a RuntimeError
        return False
    return True
