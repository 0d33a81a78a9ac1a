"""Messages that arrive in numbered pieces (unicast fragments, parts of large broadcasts), held
until whole within bounds: at most so many messages and so many bytes at once (the oldest other
message is dropped to make room) and for a limited time."""

from __future__ import annotations

import collections

from nostrp2p.mesh.wire import MalformedFrame


class Partial:
    __slots__ = ("count", "tag", "chunks", "size", "started", "last")

    def __init__(self, count, tag, now):
        self.count = count
        self.tag = tag  # what every piece of the message must agree on besides its count
        self.chunks: dict[int, bytes] = {}
        self.size = 0
        self.started = now
        self.last = now


class Reassembly:
    def __init__(self, count, max_messages: int, max_bytes: int, full: str, timed_out: str):
        self.count = count  # count(counter name): the core's counters
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.full = full  # counter of messages dropped to make room
        self.timed_out = timed_out  # counter of messages dropped for taking too long
        self.partials: collections.OrderedDict[object, Partial] = collections.OrderedDict()
        self.bytes = 0

    def __contains__(self, key) -> bool:
        return key in self.partials

    def add(self, key, index: int, count: int, chunk: bytes, now: float, tag=None):
        """Take piece ``index`` of ``count`` of message ``key``: the whole message (bytes) once
        its last piece is in, else None. MalformedFrame when it disagrees with earlier pieces."""
        partial = self.partials.get(key)
        if partial is None:
            partial = self.partials[key] = Partial(count, tag, now)
        elif (partial.count, partial.tag) != (count, tag):
            raise MalformedFrame("pieces of one message disagree")
        if index in partial.chunks:
            return None
        partial.chunks[index] = chunk
        partial.size += len(chunk)
        partial.last = now
        self.bytes += len(chunk)
        if len(partial.chunks) == partial.count:
            self._drop(key)
            return b"".join(partial.chunks[i] for i in range(partial.count))
        self._bound(key)
        return None

    def drop_started_by(self, cutoff: float) -> None:
        """Drop every message started at ``cutoff`` or before (oldest first: this stops early)."""
        while self.partials:
            key, partial = next(iter(self.partials.items()))
            if partial.started > cutoff:
                return
            self._drop(key)
            self.count(self.timed_out)

    def drop_if_idle(self, key, now: float, timeout: float):
        """Drop message ``key`` if no piece came for ``timeout``; else when to ask again (None
        once it is gone)."""
        partial = self.partials.get(key)
        if partial is None:
            return None
        if now - partial.last < timeout:
            return partial.last + timeout
        self._drop(key)
        self.count(self.timed_out)
        return None

    def _drop(self, key) -> None:
        self.bytes -= self.partials.pop(key).size

    def _bound(self, keep) -> None:
        while len(self.partials) > self.max_messages or self.bytes > self.max_bytes:
            key = next((k for k in self.partials if k != keep), keep)
            self._drop(key)
            self.count(self.full)
            if key == keep:
                return
