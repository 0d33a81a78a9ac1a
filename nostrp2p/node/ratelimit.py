"""Token buckets keyed by peer or author, in a table of bounded size."""

from __future__ import annotations

from typing import Hashable

from ..bounded import RecentTable


class RateLimiter:
    """Allows ``rate`` events per ``per`` seconds per key, with bursts up to ``rate``.

    The table keeps at most ``max_keys`` buckets; the least recently used key is forgotten
    first, which at worst gives a forgotten key a fresh full bucket: bounded memory is worth that.
    """

    def __init__(self, rate: float, per: float, max_keys: int):
        self._capacity = float(rate)
        self._refill = rate / per
        self._buckets = RecentTable(max_keys)  # key -> (tokens, when counted)

    def allow(self, key: Hashable, now: float, cost: float = 1.0) -> bool:
        tokens, stamp = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - stamp) * self._refill)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets.keep(key, (tokens, now))
        return allowed

    def take(self, key: Hashable, now: float, wanted: int) -> int:
        """Take up to ``wanted`` whole tokens at once; how many were granted (a peer's message
        of many events keeps as many as its budget allows)."""
        tokens, stamp = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - stamp) * self._refill)
        granted = max(0, min(int(wanted), int(tokens)))
        self._buckets.keep(key, (tokens - granted, now))
        return granted

    def __len__(self) -> int:
        return len(self._buckets)
