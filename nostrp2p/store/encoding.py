"""The form an event takes in Redis: its packed form (``codec.pack_event``) without the id.

The id is already the event's field name in ``np:events`` and part of every order key, so
storing it again in the value would cost 34 bytes an event for nothing. A packed event always
begins with the array header and the id (``0x97 0xc4 0x20`` + 32 bytes); the stored form is
what follows, which begins with the pubkey's header (``0xc4``), so a value written whole by an
older version (beginning ``0x97``) is still read correctly.
"""

from __future__ import annotations

_HEAD = b"\x97\xc4\x20"  # array of 7, then bin 8 of 32 bytes: the id
_ID_END = len(_HEAD) + 32


def stored_form(packed: bytes) -> bytes:
    if not packed.startswith(_HEAD):
        raise ValueError("not a packed event")
    return packed[_ID_END:]


def packed_form(event_id: bytes, stored: bytes) -> bytes:
    """The packed event again (a whole value from an older version is returned as it is)."""
    if stored[:1] == b"\x97":
        return stored
    return _HEAD + event_id + stored
