"""The in-memory window answers only when it can be sure the answer is complete."""

from twisted.trial import unittest

from nostrp2p.nostr import Filter
from nostrp2p.store.timeline import RecentWindow

from .events import make_event, newest_first


def filled(window, events):
    for event in events:
        window.insert(event, 100)
    return window


class RecentWindowTests(unittest.TestCase):
    def setUp(self):
        self.events = [make_event(n % 3, 1000 + n // 2, content=f"n{n}") for n in range(20)]

    def test_holds_everything_while_under_its_bounds(self):
        window = filled(RecentWindow(max_events=50, max_bytes=10_000), self.events)
        self.assertEqual(window.answer(Filter(), 100), newest_first(self.events))
        self.assertEqual(window.answer(Filter(since=1005, until=1007), 100),
                         [e for e in newest_first(self.events) if 1005 <= e.created_at <= 1007])

    def test_count_bound_evicts_oldest(self):
        window = filled(RecentWindow(max_events=5, max_bytes=10_000), self.events)
        self.assertEqual(len(window), 5)
        self.assertEqual(window.answer(Filter(limit=5), 5), newest_first(self.events)[:5])

    def test_byte_bound_evicts_oldest(self):
        window = filled(RecentWindow(max_events=50, max_bytes=450), self.events)
        self.assertEqual(len(window), 4)
        self.assertLessEqual(window.size_bytes, 450)

    def test_declines_when_the_answer_reaches_past_what_it_lost(self):
        window = filled(RecentWindow(max_events=5, max_bytes=10_000), self.events)
        self.assertIsNone(window.answer(Filter(), 10))
        self.assertIsNone(window.answer(Filter(since=1000), 10))
        newest = newest_first(self.events)
        self.assertEqual(window.answer(Filter(since=1009), 10),
                         [e for e in newest if e.created_at >= 1009])

    def test_an_older_event_after_eviction_is_not_taken_in(self):
        window = filled(RecentWindow(max_events=5, max_bytes=10_000), self.events)
        old = make_event(4, 10, content="late arrival")
        window.insert(old, 100)
        self.assertNotIn(old, window.answer(Filter(limit=5), 5))
        self.assertEqual(len(window), 5)

    def test_discard_leaves_no_hole(self):
        window = filled(RecentWindow(max_events=50, max_bytes=10_000), self.events)
        newest = newest_first(self.events)
        window.discard(newest[10].id)
        self.assertEqual(window.answer(Filter(limit=10), 10), newest[:10])
        # Past the discarded event the window no longer claims to know everything.
        self.assertIsNone(window.answer(Filter(), 50))

    def test_filters_by_kind_and_tag(self):
        tagged = make_event(1, 2000, kind=7, tags=[("e", "aa" * 32)])
        window = filled(RecentWindow(max_events=50, max_bytes=10_000), self.events + [tagged])
        self.assertEqual(window.answer(Filter(kinds=frozenset({7})), 10), [tagged])
        self.assertEqual(window.answer(Filter(tags=(("e", frozenset({"aa" * 32})),)), 10), [tagged])

    def test_fill_from_a_bigger_store_is_not_complete(self):
        window = RecentWindow(max_events=50, max_bytes=10_000)
        newest = newest_first(self.events)
        window.fill([(e, 100) for e in newest[:8]], complete=False)
        self.assertEqual(window.answer(Filter(limit=8), 8), newest[:8])
        self.assertIsNone(window.answer(Filter(limit=9), 9))
