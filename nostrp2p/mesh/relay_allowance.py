"""What a server agrees to pass on for others, so that relaying cannot be abused: bytes per
second in all (the operator's choice; 0 relays nothing) and per origin, and how many
origin-destination pairs it carries at once, in all and per origin."""

from __future__ import annotations

import collections

from nostrp2p.bounded import RecentTable, WindowBudget
from nostrp2p.mesh import limits

_ALL = b""  # the key of the allowance shared by every origin


class RelayAllowance:
    def __init__(self, bytes_per_second: int = limits.RELAY_BYTES_PER_SECOND):
        self.bytes_per_second = bytes_per_second
        self.total = WindowBudget(max(bytes_per_second, 1), 1.0, 1)
        self.per_origin = WindowBudget(limits.RELAY_BYTES_PER_SECOND_PER_ORIGIN, 1.0,
                                       limits.RELAY_ORIGINS_MAX)
        # (origin, destination) -> when last relayed, least recent first (new pairs beyond the
        # bound are refused below, so the table never forgets one)
        self.pairs = RecentTable(limits.RELAY_PAIRS_MAX)
        self.pairs_of: collections.Counter[bytes] = collections.Counter()

    def refusal(self, origin: bytes, destination: bytes, size: int, now: float) -> str | None:
        """The counter naming why ``size`` bytes from ``origin`` to ``destination`` are not
        passed on now, or None: they may be, and are counted against the allowances."""
        if self.bytes_per_second <= 0:
            return "drop_relay_disabled"
        self._expire(now)
        pair = (origin, destination)
        if pair not in self.pairs and (len(self.pairs) >= limits.RELAY_PAIRS_MAX
                                       or self.pairs_of[origin] >= limits.RELAY_PAIRS_PER_ORIGIN):
            return "drop_relay_pairs_full"
        if not self.per_origin.allow(origin, now, size) or not self.total.allow(_ALL, now, size):
            return "drop_relay_over_bandwidth"
        if pair not in self.pairs:
            self.pairs_of[origin] += 1
        self.pairs.keep(pair, now)
        return None

    def _expire(self, now: float) -> None:
        while self.pairs:
            (origin, destination), seen = self.pairs.oldest()
            if now - seen < limits.RELAY_PAIR_IDLE:
                return
            del self.pairs[(origin, destination)]
            self.pairs_of[origin] -= 1
            if self.pairs_of[origin] <= 0:
                del self.pairs_of[origin]
