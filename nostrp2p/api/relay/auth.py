"""NIP-42: the relay's challenge and the check of a client's AUTH event.

The event is already id- and signature-verified (messages.py); here: kind 22242, the
challenge this connection was given, the relay's own URL, and a created_at close to now. The
URL is compared by host, port and path (``ws`` and ``wss`` alike): behind a reverse proxy that
terminates TLS the server sees ``ws://`` while the client rightly names ``wss://``.
"""

from __future__ import annotations

import os
from typing import Optional
from urllib.parse import urlsplit

from ...nostr import Event
from .. import limits

AUTH_KIND = 22242

_DEFAULT_PORTS = {"ws": 80, "http": 80, "wss": 443, "https": 443}


def new_challenge() -> str:
    return os.urandom(limits.AUTH_CHALLENGE_BYTES).hex()


def normalised_url(url: str) -> Optional[tuple[str, int, str]]:
    """(host, port, path) of a ws(s):// URL, or None when it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if port is None:
        port = _DEFAULT_PORTS[parts.scheme.lower()]
    return parts.hostname.lower(), port, parts.path.rstrip("/")


def relay_url_from_host(host_header: str, secure: bool) -> str:
    """The URL a client used to reach this relay, from the upgrade's Host header."""
    return f"{'wss' if secure else 'ws'}://{host_header}/"


def auth_refusal(event: Event, challenge: str, relay_url: str, owner: bytes,
                 now: float) -> Optional[str]:
    """Why this AUTH event is refused (an OK text with its prefix), or None when it proves
    that the connection is the owner's."""
    if event.kind != AUTH_KIND:
        return f"invalid: an AUTH event is kind {AUTH_KIND}, not {event.kind}"
    if challenge not in event.tag_values("challenge"):
        return "invalid: the challenge tag does not hold this connection's challenge"
    wanted = normalised_url(relay_url)
    named = [normalised_url(url) for url in event.tag_values("relay")]
    if wanted is None or wanted not in named:
        return f"invalid: the relay tag does not name this relay ({relay_url})"
    if abs(event.created_at - now) > limits.AUTH_MAX_AGE_SECONDS:
        return (f"invalid: created_at is more than {limits.AUTH_MAX_AGE_SECONDS} s from "
                f"this server's time")
    if event.pubkey != owner:
        return "restricted: only this server's owner can authenticate here"
    return None
