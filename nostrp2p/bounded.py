"""Bounded tables shared by every package (mesh/, node/, api/ may all import this; it imports
nothing of the project): a most-recent table that forgets its least recently kept entries past
its bound, and a per-key allowance per time window kept in one."""

from __future__ import annotations

import collections


class RecentTable(collections.OrderedDict):
    """A dict of at most ``bound`` entries, least recently kept first. ``keep`` makes an entry
    the most recent (forgetting the least recent beyond the bound, each passed to ``on_forget``
    if given); ``lookup`` reads one and makes it the most recent; plain dict reads do not."""

    def __init__(self, bound: int, on_forget=None):
        super().__init__()
        self.bound = bound
        self.on_forget = on_forget  # on_forget(key, value) for each entry the bound pushes out

    def keep(self, key, value) -> None:
        self.pop(key, None)
        self[key] = value
        while len(self) > self.bound:
            forgotten = self.popitem(last=False)
            if self.on_forget is not None:
                self.on_forget(*forgotten)

    def lookup(self, key, default=None):
        if key not in self:
            return default
        self.move_to_end(key)
        return self[key]

    def oldest(self):
        """The least recently kept (key, value), or None when empty."""
        return next(iter(self.items()), None)


class WindowBudget:
    """An allowance per key per time window (fixed windows: cheap, and exact enough for abuse
    bounds), over a RecentTable of keys (the least recently seen are forgotten)."""

    def __init__(self, allowance: int, window: float, max_keys: int):
        self.allowance = allowance
        self.window = window
        self._used = RecentTable(max_keys)  # key -> [window start, used in it]

    def allow(self, key, now: float, cost: int = 1) -> bool:
        """Spend ``cost`` of ``key``'s allowance; False when this window's is used up."""
        used = self._used.get(key)
        if used is None or now - used[0] >= self.window:
            used = [now, 0]
        used[1] += cost
        self._used.keep(key, used)
        return used[1] <= self.allowance

    def __len__(self) -> int:
        return len(self._used)
