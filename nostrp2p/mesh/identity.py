"""A server's overlay identity: a long-lived X25519 key pair and the opaque owner key it serves."""

from __future__ import annotations

import os
from dataclasses import dataclass

from nacl.public import PrivateKey

OWNER_KEY_SIZE = 32
KEY_SIZE = 32


class KeyFileError(ValueError):
    """The overlay key file exists but cannot be used (wrong size, unreadable)."""


@dataclass(frozen=True)
class Identity:
    private_key: bytes  # X25519 secret, 32 bytes
    public_key: bytes  # X25519 public, 32 bytes
    owner_key: bytes  # opaque 32 bytes the node layer gave us

    @classmethod
    def from_private(cls, private_key: bytes, owner_key: bytes) -> "Identity":
        if len(private_key) != KEY_SIZE:
            raise KeyFileError("an overlay private key is 32 bytes")
        if len(owner_key) != OWNER_KEY_SIZE:
            raise ValueError("the owner key is 32 bytes")
        secret = PrivateKey(private_key)
        return cls(private_key, bytes(secret.public_key), owner_key)

    @classmethod
    def generate(cls, owner_key: bytes) -> "Identity":
        return cls.from_private(bytes(PrivateKey.generate()), owner_key)


def load_or_create(path: str, owner_key: bytes) -> Identity:
    """Read the overlay key from ``path``, or create it (mode 0600) on first start."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(KEY_SIZE + 1)
    except FileNotFoundError:
        secret = bytes(PrivateKey.generate())
        # O_EXCL so that two starting processes cannot both write; 0600 from the first byte.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secret)
        return Identity.from_private(secret, owner_key)
    except OSError as exc:
        raise KeyFileError(f"cannot read the overlay key file {path}: {exc.strerror}") from exc
    if len(data) != KEY_SIZE:
        raise KeyFileError(f"the overlay key file {path} must hold exactly 32 bytes")
    return Identity.from_private(data, owner_key)
