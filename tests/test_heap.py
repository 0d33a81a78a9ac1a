"""Freed memory goes back to the system after a full collection (nostrp2p/heap.py)."""

import gc

from twisted.trial import unittest

from nostrp2p import heap

BLOCKS = 2000
BLOCK_BYTES = 20 * 1024  # from the heap (under the mmap threshold), as a reply or batch would be
PIN_BYTES = 600          # long-lived, also from the heap (over Python's 512-byte small objects)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise unittest.SkipTest("no /proc/self/status")


class ReturnFreedMemoryTests(unittest.TestCase):
    def setUp(self):
        if not heap.return_freed_memory():
            raise unittest.SkipTest("not glibc")

    def test_holes_between_live_objects_are_returned_after_a_full_collection(self):
        # Transient blocks freed between long-lived ones leave holes free() keeps; only
        # malloc_trim gives them back, and the full collection is when it runs.
        blocks, pins = [], []
        for n in range(BLOCKS):
            blocks.append(bytes(BLOCK_BYTES) + n.to_bytes(4, "big"))
            pins.append(bytes(PIN_BYTES) + n.to_bytes(4, "big"))
        del blocks
        held = rss_mb()
        gc.collect()
        returned = held - rss_mb()
        self.assertGreater(returned, BLOCKS * BLOCK_BYTES / 2**20 / 2, f"{returned:.1f} MB returned")
        self.assertEqual(len(pins), BLOCKS)

    def test_asking_twice_trims_once(self):
        heap.return_freed_memory()
        trims = [c for c in gc.callbacks if getattr(c, "__name__", "") == "trim_after_full_collection"]
        self.assertEqual(len(trims), 1)
