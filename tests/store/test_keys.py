"""The order keys make Redis's byte order the answer order: newest first, ties by id."""

from twisted.trial import unittest

from nostrp2p.store import keys


class OrderKeyTests(unittest.TestCase):
    def test_byte_order_is_newest_first_then_lowest_id(self):
        entries = [(5, b"\x02" * 32), (9, b"\x05" * 32), (5, b"\x01" * 32), (0, b"\xff" * 32),
                   (keys.LATEST_ORDERED_TIME, b"\x00" * 32)]
        by_bytes = sorted(entries, key=lambda e: keys.order_key(*e))
        self.assertEqual(by_bytes, sorted(entries, key=lambda e: (-e[0], e[1])))

    def test_later_times_are_ordered_as_the_latest_among_themselves_by_id(self):
        latest = keys.LATEST_ORDERED_TIME
        far, farther = keys.order_key(latest + 10, b"\x02" * 32), keys.order_key(2**40, b"\x01" * 32)
        self.assertLess(farther, far)  # the same time: the lower id first
        self.assertLess(far, keys.order_key(latest - 1, b"\x00" * 32))
        self.assertEqual(keys.order_key_time(far), latest)
        self.assertLessEqual(keys.newest_bound(2**40)[1:], farther)
        self.assertGreaterEqual(keys.oldest_bound(latest + 5)[1:], far)

    def test_round_trip(self):
        key = keys.order_key(1_700_000_123, b"\xab" * 32)
        self.assertEqual(len(key), keys.ORDER_KEY_BYTES)
        self.assertEqual(keys.order_key_time(key), 1_700_000_123)
        self.assertEqual(keys.order_key_id(key), b"\xab" * 32)

    def test_time_bounds_are_inclusive(self):
        inside = keys.order_key(100, b"\xff" * 32)
        lowest = keys.order_key(100, b"\x00" * 32)
        self.assertLessEqual(keys.newest_bound(100)[1:], lowest)
        self.assertGreaterEqual(keys.oldest_bound(100)[1:], inside)
        self.assertGreater(keys.newest_bound(100)[1:], keys.order_key(101, b"\xff" * 32))
        self.assertLess(keys.oldest_bound(100)[1:], keys.order_key(99, b"\x00" * 32))

