"""Messages that arrive in numbered pieces (unicast fragments, parts of large broadcasts), held
until whole within bounds: at most so many messages and so many bytes at once (the oldest other
message is dropped to make room) and for a limited time. Optionally also per sender (the first
element of a message's key): a sender past its share loses its own oldest partial message, never
another sender's, so one peer cannot push out the others' partial messages."""

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
    def __init__(self, count, max_messages: int, max_bytes: int, full: str, timed_out: str,
                 per_sender: tuple[int, int, str] | None = None, on_drop=None):
        self.count = count  # count(counter name): the core's counters
        self.on_drop = on_drop  # on_drop(key): a message left (whole, timed out or pushed out)
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.full = full  # counter of messages dropped to make room
        self.timed_out = timed_out  # counter of messages dropped for taking too long
        # (messages, bytes, counter) one sender may hold, keys being (sender, ...); None: no share
        self.per_sender = per_sender
        self.partials: collections.OrderedDict[object, Partial] = collections.OrderedDict()
        self.bytes = 0
        self.sender_messages: collections.Counter = collections.Counter()
        self.sender_bytes: collections.Counter = collections.Counter()

    def __contains__(self, key) -> bool:
        return key in self.partials

    def add(self, key, index: int, count: int, chunk: bytes, now: float, tag=None):
        """Take piece ``index`` of ``count`` of message ``key``: the whole message (bytes) once
        its last piece is in, else None. MalformedFrame when it disagrees with earlier pieces."""
        partial = self.partials.get(key)
        if partial is None:
            partial = self.partials[key] = Partial(count, tag, now)
            if self.per_sender is not None:
                self.sender_messages[key[0]] += 1
        elif (partial.count, partial.tag) != (count, tag):
            raise MalformedFrame("pieces of one message disagree")
        if index in partial.chunks:
            return None
        partial.chunks[index] = chunk
        partial.size += len(chunk)
        partial.last = now
        self.bytes += len(chunk)
        if self.per_sender is not None:
            self.sender_bytes[key[0]] += len(chunk)
        if len(partial.chunks) == partial.count:
            self._drop(key)
            return b"".join(partial.chunks[i] for i in range(partial.count))
        if self.per_sender is not None and not self._bound_sender(key):
            return None
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
        due = partial.last + timeout
        if now < due:  # not ``now - last < timeout``: at now == due that can hold in floating
            return due  # point, and the call asked again for ``now`` would run again forever
        self._drop(key)
        self.count(self.timed_out)
        return None

    def _drop(self, key) -> None:
        size = self.partials.pop(key).size
        if self.on_drop is not None:
            self.on_drop(key)
        self.bytes -= size
        if self.per_sender is not None:
            sender = key[0]
            self.sender_bytes[sender] -= size
            self.sender_messages[sender] -= 1
            if not self.sender_messages[sender]:
                del self.sender_messages[sender], self.sender_bytes[sender]

    def _bound_sender(self, keep) -> bool:
        """Keep the sender of ``keep`` within its share, dropping its own oldest partial messages
        (``keep`` last); False when ``keep`` itself went."""
        max_messages, max_bytes, counter = self.per_sender
        sender = keep[0]
        while self.sender_messages[sender] > max_messages or self.sender_bytes[sender] > max_bytes:
            key = next((k for k in self.partials if k[0] == sender and k != keep), keep)
            self._drop(key)
            self.count(counter)
            if key == keep:
                return False
        return True

    def _bound(self, keep) -> None:
        while len(self.partials) > self.max_messages or self.bytes > self.max_bytes:
            key = next((k for k in self.partials if k != keep), keep)
            self._drop(key)
            self.count(self.full)
            if key == keep:
                return
