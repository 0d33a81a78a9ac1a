"""When a server asks a peer where it sees it (WHOAMI). Asking every new session, as before,
made WHOAMI and YOU_ARE a fifth of the datagrams of a join storm, though a few agreeing answers
already say all they can.

So the answers are *settled* when the WHOAMI_SETTLE_REPORTERS most recent reports (one per
reporting host: the traversal keeps them so) all agree, an endpoint-independent mapping, or all
differ, an endpoint-dependent one. Until then each new peer is asked, at most that many at a
time (answers take a round trip, and a storm makes dozens of sessions meanwhile); peers with a
session that were never asked fill in at each recheck. Once settled, one peer is asked every
WHOAMI_RECHECK_INTERVAL: a new session's if one comes, else the peer asked longest ago. A
report that unsettles them (a new address, or a mapping that changed its behaviour) has that
many peers asked at once, so the change is learned within a round trip of being seen and
within about a minute of happening. Only answers to our own asks are taken."""

from __future__ import annotations

from nostrp2p.bounded import RecentTable
from nostrp2p.mesh import limits


class WhoAmIAsking:
    def __init__(self):
        self.settled = False
        self.asked = RecentTable(limits.WHOAMI_ASKED_MAX)  # peer -> when last asked
        # peer -> until when its answer is taken: at most WHOAMI_SETTLE_REPORTERS + 1 entries,
        # as no more are asked at once (one recheck on top of a full round)
        self.waiting: dict[bytes, float] = {}
        self.last_ask = None  # when any peer was last asked

    def settle(self, reports: list) -> tuple | None:
        """``reports``: the reflexive addresses reported, one per reporting host, oldest first.
        Settles (or unsettles) on the most recent; returns the address they agree on, if they
        do (older reports of other addresses are then out of date)."""
        recent = reports[-limits.WHOAMI_SETTLE_REPORTERS:]
        distinct = len(set(recent))
        enough = len(recent) == limits.WHOAMI_SETTLE_REPORTERS
        self.settled = enough and distinct in (1, len(recent))
        return recent[-1] if self.settled and distinct == 1 else None

    def new_peer(self, peer: bytes, now: float) -> bool:
        """Whether a peer we just made a session with is to be asked now."""
        self._expire(now)
        if peer in self.waiting:
            return False
        if self.settled:
            return self._recheck_due(now)
        return peer not in self.asked and len(self.waiting) < limits.WHOAMI_SETTLE_REPORTERS

    def unprompted(self, peers, now: float, unsettled_now: bool = False) -> list:
        """Of ``peers`` (those we hold a direct session with), the ones to ask now, unprompted by
        a new session: at a recheck, or (``unsettled_now``) when a report has just unsettled the
        answers. Those asked longest ago (never asked, first) are asked first."""
        self._expire(now)
        peers = [p for p in peers if p not in self.waiting]
        if self.settled:
            wanted = 1 if self._recheck_due(now) else 0
        else:
            wanted = limits.WHOAMI_SETTLE_REPORTERS - len(self.waiting)
            if not unsettled_now:
                peers = [p for p in peers if p not in self.asked]  # asked: it said what it sees
        never = [p for p in peers if p not in self.asked]
        ago = sorted((p for p in peers if p in self.asked), key=self.asked.get)
        return (never + ago)[: max(0, wanted)]

    def asking(self, peer: bytes, now: float) -> None:
        self.asked.keep(peer, now)
        self.waiting[peer] = now + limits.WHOAMI_ANSWER_TIMEOUT
        self.last_ask = now

    def answered(self, peer: bytes, now: float) -> bool:
        """Whether ``peer``'s YOU_ARE answers an ask of ours (then it is taken, once)."""
        until = self.waiting.pop(peer, None)
        return until is not None and until >= now

    def next_recheck(self, now: float) -> float:
        """When a recheck is next due (a new session's ask puts it off)."""
        if self.last_ask is None or self.last_ask + limits.WHOAMI_RECHECK_INTERVAL <= now:
            return now + limits.WHOAMI_RECHECK_INTERVAL
        return self.last_ask + limits.WHOAMI_RECHECK_INTERVAL

    def _recheck_due(self, now: float) -> bool:
        return self.last_ask is None or now - self.last_ask >= limits.WHOAMI_RECHECK_INTERVAL

    def _expire(self, now: float) -> None:
        for peer, until in list(self.waiting.items()):
            if until < now:
                del self.waiting[peer]
