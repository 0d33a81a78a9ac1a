"""A timeline as readable text: newest first, each post under its author's name (from the
author's profile when the server holds it, else the start of the npub), its age, and its id
to reply to."""

from __future__ import annotations

import json
import textwrap

from ..admin.status import in_words
from ..nostr import Event
from ..nostr.keys import nip19_encode

SHOWN_KINDS = {1: "", 6: "reposted"}
WIDTH = 78


def profile_name(profile: Event | None) -> str | None:
    if profile is None:
        return None
    try:
        content = json.loads(profile.content)
    except ValueError:
        return None
    if not isinstance(content, dict):
        return None
    for key in ("display_name", "name"):
        value = content.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:64]
    return None


def short_npub(pubkey: bytes) -> str:
    npub = nip19_encode("npub", pubkey)
    return npub[:12] + "…" + npub[-4:]


def author_label(pubkey: bytes, names: dict) -> str:
    name = names.get(pubkey)
    return f"{name} ({short_npub(pubkey)})" if name else short_npub(pubkey)


def _body(event: Event) -> str:
    if event.kind == 6:
        try:
            inner = json.loads(event.content)
            return "reposted: " + str(inner.get("content", ""))
        except (ValueError, AttributeError):
            return "reposted a post"
    return event.content


def render_timeline(events: list[Event], names: dict, now: float) -> str:
    posts = sorted((e for e in events if e.kind in SHOWN_KINDS),
                   key=lambda e: (-e.created_at, e.id))
    if not posts:
        return "The timeline is empty: nothing posted or received yet.\n"
    lines = []
    for event in posts:
        age = in_words(max(0, now - event.created_at))
        reply = " · reply" if any(t and t[0] == "e" for t in event.tags) and event.kind == 1 else ""
        lines.append(f"{author_label(event.pubkey, names)} · {age} ago{reply}")
        for paragraph in _body(event).splitlines() or [""]:
            lines += textwrap.wrap(paragraph, WIDTH - 2, initial_indent="  ",
                                   subsequent_indent="  ") or ["  "]
        lines.append(f"  id {event.id.hex()}")
        lines.append("")
    return "\n".join(lines)
