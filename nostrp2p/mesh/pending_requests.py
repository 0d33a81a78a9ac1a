"""Requests waiting for their replies: matched by the request's message id (a reply's ``ref``),
each failing with TimedOut at its deadline, at most MAX_PENDING_REQUESTS at once."""

from __future__ import annotations

from nostrp2p.mesh import limits
from nostrp2p.mesh.errors import TimedOut


class PendingRequests:
    def __init__(self, timers):
        self.timers = timers
        self.waiting: dict[bytes, tuple] = {}  # request id -> (done, deadline, timer call)

    def __len__(self) -> int:
        return len(self.waiting)

    def full(self) -> bool:
        return len(self.waiting) >= limits.MAX_PENDING_REQUESTS

    def wait(self, mid: bytes, done, deadline: float) -> None:
        """``done(error, reply, now)`` once the reply to request ``mid`` comes, or at
        ``deadline``."""
        self.waiting[mid] = (done, deadline, self.timers.call_at(deadline, self._timer, mid))

    def answer(self, mid: bytes, error, reply, now: float) -> None:
        """The outcome of request ``mid`` (a reply, a refusal, a failure to send it)."""
        pending = self.waiting.pop(mid, None)
        if pending is not None:
            pending[2].cancel()  # answered: its deadline goes with it
            pending[0](error, reply, now)

    def fail_all(self, error, now: float) -> None:
        for mid in list(self.waiting):
            self.answer(mid, error, None, now)

    def _timer(self, now, mid):
        pending = self.waiting.get(mid)
        if pending is not None and pending[1] <= now:
            self.answer(mid, TimedOut("no reply in time"), None, now)
