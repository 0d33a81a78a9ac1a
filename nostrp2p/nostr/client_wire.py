"""The mobile client's MessagePack form of events (see docs/API.md and CLIENT-WIRE).

The client decodes a map with exactly the keys below, binary id/pubkey/sig, a float64
``Created_at`` (its web build cannot decode a 64-bit integer there) and tag elements as
*binary* UTF-8 (``utf8.decode(bytes)``: a msgpack str there crashes it).
"""

from __future__ import annotations

from typing import Any, Iterable

import msgpack

from . import limits
from .errors import EventError
from .event import Event
from .parse import check_int, check_text, parse_tags


def event_to_client(event: Event) -> dict:
    return {
        "Id": event.id,
        "Pubkey": event.pubkey,
        "Created_at": float(event.created_at),
        "Kind": event.kind,
        "Tags": [[element.encode("utf-8") for element in tag] for tag in event.tags],
        "Content": event.content,
        "Sig": event.sig,
    }


def encode_events_answer(events: Iterable[Event]) -> bytes:
    """The body of a /req answer: ``{"Evts": [...]}``, strings as str and bytes as bin."""
    return msgpack.packb({"Evts": [event_to_client(e) for e in events]}, use_bin_type=True)


def _binary(field: str, value: Any, size: int) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise EventError(field, f"must be {size} bytes of binary")
    return value


def _binary_text(field: str, element: Any) -> str:
    if not isinstance(element, bytes):
        raise EventError(field, "must be binary UTF-8")
    try:
        text = element.decode("utf-8")
    except UnicodeDecodeError:
        raise EventError(field, "is not UTF-8") from None
    return check_text(field, text, limits.MAX_TAG_ELEMENT_BYTES)


def event_from_client(obj: Any) -> Event:
    """Parse the client map form back into an Event (unverified: the caller verifies)."""
    if not isinstance(obj, dict):
        raise EventError("event", "must be a map")
    created_at = obj.get("Created_at")
    if isinstance(created_at, float) and created_at.is_integer():
        created_at = int(created_at)
    sig = obj.get("Sig")
    return Event(
        id=_binary("Id", obj.get("Id"), 32),
        pubkey=_binary("Pubkey", obj.get("Pubkey"), 32),
        created_at=check_int("Created_at", created_at, 0, limits.MAX_CREATED_AT),
        kind=check_int("Kind", obj.get("Kind"), 0, limits.MAX_KIND),
        tags=parse_tags(obj.get("Tags"), "Tags", _binary_text),
        content=check_text("Content", obj.get("Content"), limits.MAX_CONTENT_BYTES),
        sig=b"" if sig is None else _binary("Sig", sig, 64),
    )


def decode_events_answer(body: bytes) -> list[Event]:
    """Decode a /req answer exactly as the client would (used by tests and tools)."""
    answer = msgpack.unpackb(body, raw=False)
    return [event_from_client(obj) for obj in answer["Evts"]]
