"""The core's own timer queue: it never reads a clock, so deadlines are kept here and the caller
asks for the earliest one and calls ``tick(now)`` when it arrives."""

from __future__ import annotations

import heapq
import itertools

from nostrp2p.mesh import limits


class Call:
    """One scheduled callback; ``cancel()`` it when the state it serves goes away."""

    __slots__ = ("fn", "args", "_timers")

    def __init__(self, fn, args, timers):
        self.fn = fn
        self.args = args
        self._timers = timers

    def cancel(self) -> None:
        if self.fn is not None:
            self.fn = self.args = None
            self._timers._cancelled_one()


class Timers:
    def __init__(self, on_error=None):
        self._heap = []
        self._seq = itertools.count()
        self._cancelled = 0  # cancelled calls still in the heap
        # on_error(now), called inside the except block of a callback that raised: the other
        # due callbacks still run, and the queue goes on.
        self._on_error = on_error

    def call_at(self, when: float, fn, *args) -> Call:
        # Callbacks still check their own state when they fire; state that can go away before
        # then (in numbers a peer decides) cancels its call, so the queue stays its size.
        call = Call(fn, args, self)
        heapq.heappush(self._heap, (when, next(self._seq), call))
        return call

    def _cancelled_one(self) -> None:
        self._cancelled += 1
        heap = self._heap
        if self._cancelled > limits.TIMERS_CANCELLED_KEPT and 2 * self._cancelled > len(heap):
            heap[:] = [entry for entry in heap if entry[2].fn is not None]
            heapq.heapify(heap)
            self._cancelled = 0

    def next_deadline(self):
        heap = self._heap
        while heap and heap[0][2].fn is None:
            heapq.heappop(heap)
            self._cancelled -= 1
        return heap[0][0] if heap else None

    def run_due(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            call = heapq.heappop(heap)[2]
            fn, args = call.fn, call.args
            if fn is None:
                self._cancelled -= 1
                continue
            call.fn = call.args = None  # done: a late cancel() is a no-op
            try:
                fn(now, *args)
            except Exception:
                if self._on_error is None:
                    raise
                self._on_error(now)

    def __len__(self):
        """Entries held, cancelled ones not yet cleared included (what the queue costs)."""
        return len(self._heap)
