"""Compact binary form of an event, for the store and the overlay.

A MessagePack array ``[id, pubkey, created_at, kind, tags, content, sig]`` with binary keys and
str text: about half the size of NIP-01 JSON, and decoding it checks every type and bound so a
corrupt record or a hostile datagram raises :class:`EventError`, never anything else.
Decoding does not verify the signature: events from other servers go through
:func:`~nostrp2p.nostr.signing.verify_event` before they are believed.
"""

from __future__ import annotations

import msgpack

from . import limits
from .errors import EventError
from .event import Event
from .parse import check_int, check_text, parse_tags

# Bounds given to the msgpack decoder so that a hostile blob cannot make it allocate much.
_MAX_BLOB = limits.MAX_EVENT_JSON_BYTES

# A UTF-8 character is at most 4 bytes, so text of at most this many characters is within its
# byte limit without being encoded to count. MessagePack text is decoded strictly (no lone
# surrogates), so nothing else is left to check for it.
_SURELY_SHORT_CONTENT = limits.MAX_CONTENT_BYTES // 4
_SURELY_SHORT_ELEMENT = limits.MAX_TAG_ELEMENT_BYTES // 4


def event_to_fields(event: Event) -> list:
    """The array that :func:`pack_event` packs (also nested inside other messages)."""
    return [event.id, event.pubkey, event.created_at, event.kind,
            [list(tag) for tag in event.tags], event.content, event.sig]


def pack_event(event: Event) -> bytes:
    return msgpack.packb(event_to_fields(event), use_bin_type=True)


def unpack_event(blob: bytes) -> Event:
    if len(blob) > _MAX_BLOB:
        raise EventError("event", f"is {len(blob)} bytes, over the limit of {_MAX_BLOB}")
    try:
        fields = msgpack.unpackb(
            blob, raw=False, use_list=True, strict_map_key=True,
            max_bin_len=_MAX_BLOB, max_str_len=_MAX_BLOB,
            max_array_len=limits.MAX_TAGS, max_map_len=0, max_ext_len=0,
        )
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise EventError("event", f"is not a valid packed event ({e.__class__.__name__})") from None
    return event_from_fields(fields)


def event_from_fields(fields: object) -> Event:
    """An Event from the decoded array of :func:`pack_event` (shared by nested decoders)."""
    if not isinstance(fields, list) or len(fields) != 7:
        raise EventError("event", "must be an array of 7 fields")
    event_id, pubkey, created_at, kind, tags, content, sig = fields
    # Every event from another server comes through here: the usual event is checked in one
    # pass of plain type tests; anything unusual takes the careful path below, which names
    # what is wrong.
    if (type(event_id) is bytes and len(event_id) == 32 and type(pubkey) is bytes
            and len(pubkey) == 32 and type(sig) is bytes and len(sig) == 64
            and type(created_at) is int and 0 <= created_at <= limits.MAX_CREATED_AT
            and type(kind) is int and 0 <= kind <= limits.MAX_KIND
            and type(content) is str and len(content) <= _SURELY_SHORT_CONTENT):
        usual_tags = _usual_tags(tags)
        if usual_tags is not None:
            return Event(event_id, pubkey, created_at, kind, usual_tags, content, sig)
    for name, value, size in (("id", event_id, 32), ("pubkey", pubkey, 32), ("sig", sig, 64)):
        if not isinstance(value, bytes) or len(value) != size:
            raise EventError(name, f"must be {size} bytes")
    return Event(
        id=event_id,
        pubkey=pubkey,
        created_at=check_int("created_at", created_at, 0, limits.MAX_CREATED_AT),
        kind=check_int("kind", kind, 0, limits.MAX_KIND),
        tags=parse_tags(tags),
        content=check_text("content", content, limits.MAX_CONTENT_BYTES),
        sig=sig,
    )


def _usual_tags(tags: object):
    """The tags as tuples when every bound plainly holds, else None (then parse_tags decides)."""
    if type(tags) is not list or len(tags) > limits.MAX_TAGS:
        return None
    for tag in tags:
        if type(tag) is not list or len(tag) > limits.MAX_TAG_ELEMENTS:
            return None
        for element in tag:
            if type(element) is not str or len(element) > _SURELY_SHORT_ELEMENT:
                return None
    return tuple(map(tuple, tags))
