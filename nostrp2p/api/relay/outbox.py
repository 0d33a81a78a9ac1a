"""A connection's bounded outgoing queue: back-pressure from the socket to the relay.

The outbox is registered as the transport's streaming producer, so the transport says when its
own buffer is full (``pauseProducing``) and when it has drained (``resumeProducing``). While
paused, frames wait here, counted in bytes; past ``limit`` the reader is too slow and
``on_overflow`` is called once (the connection closes it with a reason) and the queue is
dropped at once: a reader that never reads costs at most ``limit`` bytes.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer


@implementer(IPushProducer)
class Outbox:
    def __init__(self, send: Callable[[bytes], None], limit: int,
                 on_overflow: Callable[[int], None]):
        self._send = send
        self.limit = limit
        self._on_overflow = on_overflow
        self._frames: deque[bytes] = deque()
        self.queued_bytes = 0
        self.paused = False
        self.overflowed = False

    def put(self, frame: bytes) -> None:
        if self.overflowed:
            return
        if not self.paused and not self._frames:
            self._send(frame)  # may pause us, synchronously, from inside the write
            return
        self._frames.append(frame)
        self.queued_bytes += len(frame)
        if self.queued_bytes > self.limit:
            waiting = self.queued_bytes
            self.drop()
            self.overflowed = True
            self._on_overflow(waiting)

    def drop(self) -> None:
        self._frames.clear()
        self.queued_bytes = 0

    # -- IPushProducer, called by the transport ------------------------------------------------

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        while self._frames and not self.paused:
            frame = self._frames.popleft()
            self.queued_bytes -= len(frame)
            self._send(frame)

    def stopProducing(self) -> None:
        self.drop()
