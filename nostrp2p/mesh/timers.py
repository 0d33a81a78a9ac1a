"""The core's own timer queue: it never reads a clock, so deadlines are kept here and the caller
asks for the earliest one and calls ``tick(now)`` when it arrives."""

from __future__ import annotations

import heapq
import itertools


class Timers:
    def __init__(self, on_error=None):
        self._heap = []
        self._seq = itertools.count()
        # on_error(now), called inside the except block of a callback that raised: the other
        # due callbacks still run, and the queue goes on.
        self._on_error = on_error

    def call_at(self, when: float, fn, *args) -> None:
        # Callbacks check their own state when they fire, so nothing needs cancelling.
        heapq.heappush(self._heap, (when, next(self._seq), fn, args))

    def next_deadline(self):
        return self._heap[0][0] if self._heap else None

    def run_due(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, fn, args = heapq.heappop(heap)
            try:
                fn(now, *args)
            except Exception:
                if self._on_error is None:
                    raise
                self._on_error(now)

    def __len__(self):
        return len(self._heap)
