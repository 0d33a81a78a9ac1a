"""The size-capped window of the newest events, kept in memory in front of Redis.

It holds a *suffix* of the store's order (the newest events, with nothing missing between its
oldest entry and now), so a read whose answer lies inside that suffix is complete without a
Redis round trip. It is never the only copy: every event in it was acknowledged by Redis first.
"""

from __future__ import annotations

import bisect
from typing import Iterable, Optional

from ..nostr import Event, Filter
from . import limits
from .keys import order_key, order_key_id


class RecentWindow:
    def __init__(self, max_events: int = limits.TIMELINE_MAX_EVENTS,
                 max_bytes: int = limits.TIMELINE_MAX_BYTES):
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._keys: list[bytes] = []        # ascending order keys: newest first
        self._events: dict[bytes, tuple[Event, int]] = {}  # order key -> (event, packed size)
        self._key_of: dict[bytes, bytes] = {}  # id -> order key, to forget trimmed events
        self._bytes = 0
        # The order key of the newest event the window lost (evicted for room, or never loaded):
        # everything ordered after it may be missing. None while the window holds everything.
        self._horizon: Optional[bytes] = None

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, event_id: bytes) -> bool:
        return event_id in self._key_of

    def events(self, event_ids) -> list[Event]:
        """The events of the window among ``event_ids``."""
        keys = (self._key_of.get(event_id) for event_id in event_ids)
        return [self._events[key][0] for key in keys if key is not None]

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def fill(self, events: Iterable[tuple[Event, int]], complete: bool) -> None:
        """Load events read from Redis at start; ``complete`` says Redis holds no older ones."""
        for event, size in events:
            self._insert(event, size)
        if not complete and self._keys:
            self._lose(self._keys[-1])

    def insert(self, event: Event, size: int) -> None:
        """An event Redis just acknowledged as new."""
        key = order_key(event.created_at, event.id)
        if self._horizon is not None and key > self._horizon:
            return  # older than what the window covers: it would leave a hole
        self._insert(event, size)

    def _insert(self, event: Event, size: int) -> None:
        key = order_key(event.created_at, event.id)
        if key in self._events:
            return
        bisect.insort(self._keys, key)
        self._events[key] = (event, size)
        self._key_of[event.id] = key
        self._bytes += size
        while len(self._keys) > self.max_events or (self._bytes > self.max_bytes and len(self._keys) > 1):
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        key = self._keys.pop()
        self._bytes -= self._events.pop(key)[1]
        del self._key_of[order_key_id(key)]
        self._lose(key)

    def _lose(self, key: bytes) -> None:
        if self._horizon is None or key < self._horizon:
            self._horizon = key

    def discard(self, event_id: bytes) -> None:
        """Forget an event Redis trimmed, and the window's entries older than it, so that the
        window stays a suffix without holes (Redis still holds those older entries)."""
        key = self._key_of.get(event_id)
        if key is None:
            return
        index = bisect.bisect_left(self._keys, key)
        for gone in self._keys[index:]:
            self._bytes -= self._events.pop(gone)[1]
            del self._key_of[order_key_id(gone)]
        del self._keys[index:]
        self._lose(key)

    def answer(self, event_filter: Filter, limit: int) -> Optional[list[Event]]:
        """The answer from memory, or None when the window cannot be sure it is complete."""
        start = 0
        if event_filter.until is not None:
            start = bisect.bisect_left(self._keys, order_key(event_filter.until, b"\x00" * 32))
        found = []
        for key in self._keys[start:]:
            event = self._events[key][0]
            if event_filter.since is not None and event.created_at < event_filter.since:
                return found
            if event_filter.matches(event):
                found.append(event)
                if len(found) >= limit:
                    return found
        if self._horizon is None:
            return found
        if event_filter.since is not None and order_key(event_filter.since, b"\xff" * 32) < self._horizon:
            return found
        return None
