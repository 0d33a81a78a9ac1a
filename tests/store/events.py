"""Signed events for store tests (real BIP-340 signatures, deterministic keys)."""

from __future__ import annotations

from nostrp2p.nostr import Event, sign_event

SECRETS = [bytes([n]) * 32 for n in range(1, 9)]


def make_event(author: int = 0, created_at: int = 1_700_000_000, kind: int = 1,
               tags=(), content: str = "hello") -> Event:
    return sign_event(SECRETS[author], created_at, kind, tuple(tuple(t) for t in tags), content)


def newest_first(events):
    return sorted(events, key=lambda e: (-e.created_at, e.id))
