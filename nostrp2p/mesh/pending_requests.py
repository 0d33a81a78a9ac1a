"""Requests waiting for their replies: matched by the request's message id (a reply's ``ref``)
inside the session of the server it was sent to (a reply naming the id from any other session
is not taken: a relay, or anyone who learnt the id, cannot answer for the destination), each
failing with TimedOut at its deadline, at most MAX_PENDING_REQUESTS at once."""

from __future__ import annotations

from nostrp2p.mesh import limits
from nostrp2p.mesh.errors import TimedOut


class PendingRequests:
    def __init__(self, timers):
        self.timers = timers
        self.waiting: dict[bytes, tuple] = {}  # request id -> (done, deadline, timer call)
        self.sessions: dict[bytes, bytes] = {}  # request id -> overlay key it was sent to

    def __len__(self) -> int:
        return len(self.waiting)

    def full(self) -> bool:
        return len(self.waiting) >= limits.MAX_PENDING_REQUESTS

    def wait(self, mid: bytes, done, deadline: float) -> None:
        """``done(error, reply, now)`` once the reply to request ``mid`` comes, or at
        ``deadline``."""
        self.waiting[mid] = (done, deadline, self.timers.call_at(deadline, self._timer, mid))

    def sent_to(self, mid: bytes, overlay_key: bytes) -> None:
        """Request ``mid`` goes to the server of ``overlay_key``: only its session answers it."""
        if mid in self.waiting:
            self.sessions[mid] = overlay_key

    def answer(self, mid: bytes, error, reply, now: float, session: bytes | None = None) -> bool:
        """The outcome of request ``mid`` (a reply, a refusal, a failure to send it);
        ``session``: the overlay key of the session a reply came in, which must be the one the
        request went to. Whether it was taken."""
        if session is not None and (mid not in self.waiting or self.sessions.get(mid) != session):
            return False
        pending = self.waiting.pop(mid, None)
        self.sessions.pop(mid, None)
        if pending is None:
            return False
        pending[2].cancel()  # answered: its deadline goes with it
        pending[0](error, reply, now)
        return True

    def fail_all(self, error, now: float) -> None:
        for mid in list(self.waiting):
            self.answer(mid, error, None, now)

    def _timer(self, now, mid):
        pending = self.waiting.get(mid)
        if pending is not None and pending[1] <= now:
            self.answer(mid, TimedOut("no reply in time"), None, now)
