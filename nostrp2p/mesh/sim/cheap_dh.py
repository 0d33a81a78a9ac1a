"""SIMULATION ONLY, NOT SECURE: a stand-in for the handshake's X25519 Diffie-Hellman, for
benchmarks of networks too large for the real one (bench/followers.py --cheap-dh).

A real handshake computes three X25519 products a side (docs/PROTOCOL.md), about a third of
the simulator's CPU while many sessions are made (a converged tree start, a minute of crashes
and returns at 10,000 servers). Here the "shared secret" of a secret key and a public key is a
hash of the two public keys: both sides of a handshake still derive the same keys from the same
transcript, and every datagram of it is still sent, sealed and checked (a wrong network
password still fails at the INIT's MAC); but anyone who knows two public keys knows their
secret, so a server can be impersonated, and nothing measured with it may be taken for a
security property. Public keys are the real ones (an overlay key is an identity's, and XEdDSA
signs with it), each computed once and kept.

Installed for a run and removed after it (``installed``), never by a node or a test of security.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib

from nostrp2p.mesh import crypto

# Ephemeral keys are used once a side, identities in every handshake: enough to keep every
# identity of a 10,000-server network and the ephemerals of the handshakes under way.
PUBLIC_KEYS_KEPT = 65536


@functools.lru_cache(maxsize=PUBLIC_KEYS_KEPT)
def _public_key(secret: bytes) -> bytes:
    return crypto.bindings.crypto_scalarmult_base(secret)


def _shared(secret: bytes, public: bytes) -> bytes:
    mine = _public_key(secret)
    low, high = (mine, public) if mine < public else (public, mine)
    return hashlib.blake2b(low + high, digest_size=32, person=b"np2p-sim-only").digest()


@contextlib.contextmanager
def installed():
    """The simulation-only products in place of X25519's for the ``with`` block."""
    real = crypto.public_key, crypto._dh
    crypto.public_key, crypto._dh = _public_key, _shared
    try:
        yield
    finally:
        crypto.public_key, crypto._dh = real
        _public_key.cache_clear()
