"""The Redis key schema (docs/STORE.md describes it for people).

Every index member is an *order key*: 4 bytes of ``LATEST_ORDERED_TIME - created_at``
big-endian followed by the 32-byte id. All index members have score 0, so Redis orders them by
bytes, and ascending byte order is exactly the order answers are given in: newest first, equal
times by id ascending. Time ranges are ``ZRANGEBYLEX`` ranges over those keys.

Four bytes, not the eight that would hold every ``created_at`` up to ``MAX_CREATED_AT``: a
36-byte member fits the allocator's 48-byte size class where a 40-byte one takes 64, and every
event has two index entries (its author's and the time index), so this is 32 bytes an event
(3 MB at 100,000 events; docs/STORE.md).
"""

from __future__ import annotations

import struct


PREFIX = b"np:"
EVENTS = PREFIX + b"events"            # hash: id -> stored form of the event (encoding.py)
TIME = PREFIX + b"time"                # zset: order key of every event but the KEPT ones
KEPT = PREFIX + b"kept"                # zset: order keys of the current profiles and follow lists
UNPROTECTED = PREFIX + b"unprotected"  # zset: the KEPT ones of unprotected authors, by last use
USE_CLOCK = PREFIX + b"unprotected:clock"  # counter: one tick per write, the "last use" scores
PROTECTED_FOLLOWS = PREFIX + b"protected:follows"  # set: pubkeys the owner follows
PROTECTED_TALKS = PREFIX + b"protected:talks"      # zset: pubkeys the owner named, by when
OLD_TRIMMABLE = PREFIX + b"trim"       # an older schema's index of trimmable events (upgraded)
AUTHOR_PREFIX = PREFIX + b"author:"    # zset per author: order keys of that author's events
CURRENT = {0: PREFIX + b"profile", 3: PREFIX + b"follows"}  # hash: pubkey -> order key
REFRESHED = {"profile": PREFIX + b"refreshed:profile", "follows": PREFIX + b"refreshed:follows"}
RESEND_ITEMS = PREFIX + b"resend:items"  # hash: item id -> packed [destination, payload, attempts, due]
RESEND_DUE = PREFIX + b"resend:due"      # zset: item id scored by due time
RESEND_SEQ = PREFIX + b"resend:seq"      # counter giving item ids

SCHEMA = PREFIX + b"schema"            # string: the layout version (absent: written before 2)
SCHEMA_VERSION = b"2"                  # 2: 36-byte order keys (upgrade.py converts older ones)

LATEST_ORDERED_TIME = 2**32 - 1
"""Events with a later ``created_at`` (the year 2106 on) are ordered as if at this time, among
themselves by id; every query still checks each event's own ``created_at`` (Filter.matches),
so they are answered right, only ordered coarsely."""
ORDER_TIME_BYTES = 4
ORDER_KEY_BYTES = ORDER_TIME_BYTES + 32
_TIME = struct.Struct(">I")
_RECORD = struct.Struct(">I32s32scI")  # order key (time, id), pubkey, kind flag, stored length
_KIND_FLAG = {0: b"0", 3: b"3"}  # replaceable kinds with a CURRENT pointer; others are b"-"


def _time_part(created_at: int) -> int:
    return LATEST_ORDERED_TIME - max(0, min(created_at, LATEST_ORDERED_TIME))


def order_key(created_at: int, event_id: bytes) -> bytes:
    return _TIME.pack(_time_part(created_at)) + event_id


def add_record(event, blob: bytes) -> bytes:
    """One event's record in the argument of the ADD_EVENTS script (scripts.py)."""
    return _RECORD.pack(_time_part(event.created_at), event.id, event.pubkey,
                        _KIND_FLAG.get(event.kind, b"-"), len(blob)) + blob


def order_key_time(key: bytes) -> int:
    """The time the key orders by (``created_at``, or LATEST_ORDERED_TIME for a later one)."""
    return LATEST_ORDERED_TIME - _TIME.unpack_from(key)[0]


def order_key_id(key: bytes) -> bytes:
    return key[ORDER_TIME_BYTES:ORDER_KEY_BYTES]


def author_key(pubkey: bytes) -> bytes:
    return AUTHOR_PREFIX + pubkey


def named_pubkeys(event) -> list[bytes]:
    """The distinct pubkeys an event's p tags name (malformed values skipped), in order."""
    named = {}
    for value in event.tag_values("p"):
        if len(value) == 64:
            try:
                named[bytes.fromhex(value)] = None
            except ValueError:
                continue
    return list(named)


def newest_bound(until: int | None) -> bytes:
    """The inclusive ZRANGEBYLEX start for events at or before ``until``."""
    if until is None:
        return b"-"
    return b"[" + _TIME.pack(_time_part(until))


def oldest_bound(since: int | None) -> bytes:
    """The inclusive ZRANGEBYLEX end for events at or after ``since``."""
    if since is None:
        return b"+"
    return b"[" + _TIME.pack(_time_part(since)) + b"\xff" * 32
