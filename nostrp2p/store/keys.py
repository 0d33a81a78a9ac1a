"""The Redis key schema (docs/STORE.md describes it for people).

Every index member is an *order key*: 8 bytes of ``MAX_CREATED_AT - created_at`` big-endian
followed by the 32-byte id. All index members have score 0, so Redis orders them by bytes, and
ascending byte order is exactly the order answers are given in: newest first, equal times by
id ascending. Time ranges are ``ZRANGEBYLEX`` ranges over those keys.
"""

from __future__ import annotations

import struct

from ..nostr.limits import MAX_CREATED_AT

PREFIX = b"np:"
EVENTS = PREFIX + b"events"            # hash: id -> stored form of the event (encoding.py)
TIME = PREFIX + b"time"                # zset: order key of every event but the KEPT ones
KEPT = PREFIX + b"kept"                # zset: order keys of the current profiles and follow lists
OLD_TRIMMABLE = PREFIX + b"trim"       # an older schema's index of trimmable events (upgraded)
AUTHOR_PREFIX = PREFIX + b"author:"    # zset per author: order keys of that author's events
CURRENT = {0: PREFIX + b"profile", 3: PREFIX + b"follows"}  # hash: pubkey -> order key
REFRESHED = {"profile": PREFIX + b"refreshed:profile", "follows": PREFIX + b"refreshed:follows"}
RESEND_ITEMS = PREFIX + b"resend:items"  # hash: item id -> packed [destination, payload, attempts, due]
RESEND_DUE = PREFIX + b"resend:due"      # zset: item id scored by due time
RESEND_SEQ = PREFIX + b"resend:seq"      # counter giving item ids

ORDER_KEY_BYTES = 40
_TIME = struct.Struct(">Q")
_RECORD = struct.Struct(">Q32s32scI")  # order key (time, id), pubkey, kind flag, stored length
_KIND_FLAG = {0: b"0", 3: b"3"}  # replaceable kinds with a CURRENT pointer; others are b"-"


def order_key(created_at: int, event_id: bytes) -> bytes:
    return _TIME.pack(MAX_CREATED_AT - created_at) + event_id


def add_record(event, blob: bytes) -> bytes:
    """One event's record in the argument of the ADD_EVENTS script (scripts.py)."""
    return _RECORD.pack(MAX_CREATED_AT - event.created_at, event.id, event.pubkey,
                        _KIND_FLAG.get(event.kind, b"-"), len(blob)) + blob


def order_key_time(key: bytes) -> int:
    return MAX_CREATED_AT - _TIME.unpack_from(key)[0]


def order_key_id(key: bytes) -> bytes:
    return key[8:ORDER_KEY_BYTES]


def author_key(pubkey: bytes) -> bytes:
    return AUTHOR_PREFIX + pubkey


def newest_bound(until: int | None) -> bytes:
    """The inclusive ZRANGEBYLEX start for events at or before ``until``."""
    if until is None:
        return b"-"
    return b"[" + _TIME.pack(MAX_CREATED_AT - min(until, MAX_CREATED_AT))


def oldest_bound(since: int | None) -> bytes:
    """The inclusive ZRANGEBYLEX end for events at or after ``since``."""
    if since is None:
        return b"+"
    return b"[" + _TIME.pack(MAX_CREATED_AT - max(0, min(since, MAX_CREATED_AT))) + b"\xff" * 32
