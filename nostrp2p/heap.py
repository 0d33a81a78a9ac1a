"""The C heap of a long-running server: freed memory goes back to the system.

Python keeps objects up to 512 bytes in its own arenas and hands larger ones (a batch of
events packed for Redis, a reply, a big datagram) to the C library's malloc. Blocks freed
between long-lived ones leave holes that glibc's ``free`` keeps; only ``malloc_trim`` gives
their pages back. It runs after each full collection of the garbage collector (rare: see
collector.py), when most transient memory has just been freed. With another C library nothing
is done.

glibc's thresholds are left as they are here (unlike redis-server's, ``store/embedded.py``):
fixed at 32 KB in this process, blocks of a batch were mapped and unmapped, or the heap's top
given back and taken again, on every batch, and ``bench/e2e.py`` ingested 20% fewer events per
CPU second.
"""

from __future__ import annotations

import ctypes
import gc


def _glibc():
    # The process's own symbols: ctypes.util.find_library would run ldconfig in a subprocess.
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def return_freed_memory() -> bool:
    """Trim the heap after every full collection; False when the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return False

    def trim_after_full_collection(phase, info):
        if phase == "stop" and info["generation"] == 2:
            libc.malloc_trim(0)

    if not any(getattr(c, "__name__", "") == "trim_after_full_collection" for c in gc.callbacks):
        gc.callbacks.append(trim_after_full_collection)
    return True
