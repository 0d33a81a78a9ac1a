"""The filter of recently added ids: remembers what it was told, rarely claims what it was not,
and forgets only the oldest (its memory is fixed)."""

import hashlib

from twisted.trial import unittest

from nostrp2p.store.recent_ids import RecentIds


def ids(start, count):
    return [hashlib.sha256(b"%d" % n).digest() for n in range(start, start + count)]


class RecentIdsTests(unittest.TestCase):
    def test_every_added_id_is_remembered_and_strangers_rarely_match(self):
        recent = RecentIds(per_generation=1000)
        added = ids(0, 1000)
        for event_id in added:
            recent.add(event_id)
        self.assertTrue(all(event_id in recent for event_id in added))
        strangers = sum(event_id in recent for event_id in ids(10_000, 10_000))
        self.assertLess(strangers, 100)  # under 1%; about 0.25% expected

    def test_the_newest_two_generations_are_kept_and_the_memory_is_fixed(self):
        recent = RecentIds(per_generation=1000)
        size = recent.size_bytes
        for event_id in ids(0, 3000):
            recent.add(event_id)
        self.assertEqual(recent.size_bytes, size)
        self.assertTrue(all(event_id in recent for event_id in ids(1000, 2000)))
        forgotten = sum(event_id in recent for event_id in ids(0, 1000))
        self.assertLess(forgotten, 20)
