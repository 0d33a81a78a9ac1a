"""A per-key allowance per time window (fixed windows: cheap, and exact enough for abuse bounds),
over a bounded table of keys (the least recently seen are forgotten)."""

from __future__ import annotations

import collections


class WindowBudget:
    def __init__(self, allowance: int, window: float, max_keys: int):
        self.allowance = allowance
        self.window = window
        self.max_keys = max_keys
        self._used: collections.OrderedDict[bytes, list] = collections.OrderedDict()

    def allow(self, key: bytes, now: float, cost: int = 1) -> bool:
        """Spend ``cost`` of ``key``'s allowance; False when this window's is used up."""
        used = self._used.pop(key, None)
        if used is None or now - used[0] >= self.window:
            used = [now, 0]
        used[1] += cost
        self._used[key] = used
        while len(self._used) > self.max_keys:
            self._used.popitem(last=False)
        return used[1] <= self.allowance
