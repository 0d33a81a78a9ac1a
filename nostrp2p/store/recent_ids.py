"""A compact memory of the ids the store added recently: "do I hold this id?" without Redis.

Event ids are SHA-256 digests, so their bytes are already uniformly random: the filter takes
its bit positions straight from them, no hashing needed. It is a Bloom filter in two
generations: ids go into the current one, and when it has taken its share the older one is
dropped and a fresh one started, so the memory is fixed (``limits.RECENT_IDS_PER_GENERATION``)
and the false-positive rate stays below about half a percent however long the server runs.

It may say "maybe" for an id it never saw (rarely), and "no" for an id held long ago or before
a restart; callers treat "maybe" as "ask Redis" and "no" as "probably new" (the store's own
de-duplication by id still stands behind it).
"""

from __future__ import annotations

import struct

from . import limits

_POSITIONS = struct.Struct("<4I")  # four 32-bit bit positions from the first 16 bytes of an id


class RecentIds:
    def __init__(self, per_generation: int = limits.RECENT_IDS_PER_GENERATION):
        # 16 bits per id and 4 positions: about 0.24% false positives in a full generation
        # (and at most twice that with two generations consulted).
        bits = 1
        while bits < 16 * per_generation:
            bits <<= 1
        self._mask = bits - 1
        self._bytes = bits // 8
        self._per_generation = per_generation
        self._current = bytearray(self._bytes)
        self._older = bytearray(self._bytes)
        self._count = 0

    @property
    def size_bytes(self) -> int:
        return 2 * self._bytes

    # Unrolled by hand: these run once per event received, and a loop costs twice as much.
    def add(self, event_id: bytes) -> None:
        if self._count >= self._per_generation:
            self._older, self._current = self._current, bytearray(self._bytes)
            self._count = 0
        self._count += 1
        bits, mask = self._current, self._mask
        a, b, c, d = _POSITIONS.unpack_from(event_id)
        a, b, c, d = a & mask, b & mask, c & mask, d & mask
        bits[a >> 3] |= 1 << (a & 7)
        bits[b >> 3] |= 1 << (b & 7)
        bits[c >> 3] |= 1 << (c & 7)
        bits[d >> 3] |= 1 << (d & 7)

    def __contains__(self, event_id: bytes) -> bool:
        mask = self._mask
        a, b, c, d = _POSITIONS.unpack_from(event_id)
        a, b, c, d = a & mask, b & mask, c & mask, d & mask
        for bits in (self._current, self._older):
            if (bits[a >> 3] & 1 << (a & 7) and bits[b >> 3] & 1 << (b & 7)
                    and bits[c >> 3] & 1 << (c & 7) and bits[d >> 3] & 1 << (d & 7)):
                return True
        return False
