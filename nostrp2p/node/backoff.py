"""When an undelivered unicast is tried again: base x 2^n for n = 1..attempts, then never.

The first NostrP2P wrote ``2^n`` in Go, where ``^`` is XOR, and so retried at the wrong times;
this is what it meant.
"""

from __future__ import annotations

from typing import Optional

from . import limits


def next_retry_delay(
    attempts_done: int,
    base: float = limits.RESEND_BASE_SECONDS,
    max_attempts: int = limits.RESEND_ATTEMPTS,
) -> Optional[float]:
    """Seconds until retry number ``attempts_done + 1``, or None when the item must be dropped."""
    n = attempts_done + 1
    if n > max_attempts:
        return None
    return base * 2**n
