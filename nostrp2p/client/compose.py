"""The tags of what the client publishes, as the mobile client sets them (CLIENT-WIRE):
a reply keeps the parent's e-tags and adds the parent as "root" (when it has none) or "reply",
plus a p-tag of its author; a follow list is one p-tag per followee, content empty."""

from __future__ import annotations

import re

import bech32

from ..nostr import Event
from ..nostr.keys import KeyFormatError, parse_public_key
from .errors import ClientError

TEXT_NOTE = 1
FOLLOW_LIST = 3
_HEX64 = re.compile(r"[0-9a-fA-F]{64}\Z")


def parse_event_id(text: str) -> bytes:
    """64 hex, or a NIP-19 note1... id."""
    text = text.strip()
    if _HEX64.match(text):
        return bytes.fromhex(text)
    prefix, words = bech32.bech32_decode(text)
    data = bech32.convertbits(words, 5, 8, False) if words is not None else None
    if prefix == "note" and data is not None and len(data) == 32:
        return bytes(data)
    raise ClientError("the post to reply to is not an event id (64 hex, or note1...)")


def parse_pubkey(text: str) -> bytes:
    """An npub or hex public key. What was given is not repeated in the error: it may be a
    secret key pasted by mistake."""
    try:
        return parse_public_key(text)
    except KeyFormatError as e:
        raise ClientError(f"not someone to follow: {e}") from None


def reply_tags(parent: Event) -> list[list[str]]:
    earlier = [list(t) for t in parent.tags if t and t[0] == "e"]
    marker = "reply" if earlier else "root"
    return earlier + [["e", parent.id.hex(), "", marker], ["p", parent.pubkey.hex()]]


def follow_tags(current: Event | None, add: list[bytes]) -> tuple[list[list[str]], list[bytes]]:
    """The new follow list's tags, and which of ``add`` were not followed already."""
    tags = [list(t) for t in current.tags] if current is not None else []
    followed = {t[1] for t in tags if len(t) >= 2 and t[0] == "p"}
    new = []
    for key in add:
        if key.hex() not in followed:
            followed.add(key.hex())
            tags.append(["p", key.hex()])
            new.append(key)
    return tags, new
