"""Python's cyclic garbage collector, set for a long-running server that handles many small
objects per event.

Most objects a server makes (decoded events, Deferreds, datagrams) are freed by reference
counting the moment they are done with; the cyclic collector only has to find cycles. With
the default thresholds it walks the young objects every 700 allocations and every object,
modules and Twisted included, every hundred of those: measured in ``bench/e2e.py``, that was
15 to 20 us of CPU per event ingested, more than decoding and storing it together.
"""

from __future__ import annotations

import gc

from .heap import return_freed_memory

YOUNG_COLLECTION_ALLOCATIONS = 20_000
"""Container objects allocated (net) between collections of the youngest generation (Python's
default: 700). Only objects in reference cycles wait for a collection, so this bounds how many
of those can pile up between two: a few MB at most."""

OLDER_GENERATION_RATIO = 20
"""Collections of a generation between two of the next older one (Python's default: 10)."""


def set_thresholds() -> None:
    """The thresholds above, from now on (``settle_after_start`` sets them too)."""
    gc.set_threshold(YOUNG_COLLECTION_ALLOCATIONS, OLDER_GENERATION_RATIO, OLDER_GENERATION_RATIO)


def settle_after_start() -> None:
    """Call once the server has started: what start-up made (modules, classes, services) lives
    as long as the process, so it is frozen out of every later collection; then the thresholds
    above apply, and freed memory goes back to the system after each full collection
    (heap.py)."""
    return_freed_memory()
    gc.collect()
    gc.freeze()
    set_thresholds()
