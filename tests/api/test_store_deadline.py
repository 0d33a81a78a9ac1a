"""Store calls with a deadline: 503 in time, and every stored event delivered exactly once.

The store here is a stand-in whose answers the test gives by hand, on a task.Clock.
"""

from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.internet.task import Clock
from twisted.trial import unittest

from nostrp2p.api import limits, reads
from nostrp2p.api.errors import ApiError
from nostrp2p.api.writes import Writer
from nostrp2p.nostr import Filter

from .helpers import OWNER, RecordingNode, post


class HandStore:
    """Each add() and query() waits until the test answers it."""

    def __init__(self):
        self.adds = []
        self.queries = []
        self.memory = None

    def add(self, event):
        self.adds.append((event, Deferred()))
        return self.adds[-1][1]

    def query(self, event_filter):
        self.queries.append(Deferred())
        return self.queries[-1]

    def answer_from_memory(self, event_filter):
        return self.memory


class PublishDeadlineTests(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.store = HandStore()
        self.node = RecordingNode()
        self.stored = []
        self.writer = Writer(self.store, self.node, OWNER.public, True, self.stored.append,
                             clock=self.clock)
        self.event = post(1_700_000_000)

    def publish(self):
        return ensureDeferred(self.writer.publish(self.event))

    def publish_answered(self, new: bool):
        """A publish whose write the store answers at once: new or already held."""
        answer = self.publish()
        self.store.adds[-1][1].callback(new)
        return self.successResultOf(answer)

    def test_a_late_store_is_a_503_at_the_deadline_and_the_write_still_delivers(self):
        answer = self.publish()
        self.clock.advance(limits.STORE_DEADLINE_SECONDS - 0.01)
        self.assertNoResult(answer)
        self.clock.advance(0.01)
        refused = self.failureResultOf(answer, ApiError).value
        self.assertEqual((refused.status, refused.field), (503, "store"))
        self.assertEqual(self.node.published_events, [])
        self.store.adds[0][1].callback(True)  # Redis is back and applied the write
        self.assertEqual(self.node.published_events, [self.event])
        self.assertEqual(self.stored, [self.event])  # the relay's live subscriptions too

    def test_a_retry_while_the_write_goes_on_waits_for_it_and_delivers_once(self):
        first = self.publish()
        self.clock.advance(limits.STORE_DEADLINE_SECONDS)
        self.failureResultOf(first, ApiError)
        retry = self.publish()
        self.assertEqual(len(self.store.adds), 1)  # no second write
        self.store.adds[0][1].callback(True)
        self.assertTrue(self.successResultOf(retry))
        # A later retry (the store says "not new") delivers nothing more.
        self.assertFalse(self.publish_answered(False))
        self.assertEqual(self.node.published_events, [self.event])

    def test_a_write_that_failed_unseen_is_delivered_by_the_retry_the_store_calls_old(self):
        first = self.publish()
        self.store.adds[0][1].errback(ConnectionError("lost the connection"))
        self.assertEqual(self.failureResultOf(first, ApiError).value.status, 503)
        self.publish_answered(False)  # Redis had applied the first write
        self.assertEqual(self.node.published_events, [self.event])
        self.publish_answered(False)
        self.assertEqual(self.node.published_events, [self.event])

    def test_hanging_up_leaves_the_write_running(self):
        answer = self.publish()
        answer.cancel()
        self.failureResultOf(answer, CancelledError)
        self.store.adds[0][1].callback(True)
        self.assertEqual(self.node.published_events, [self.event])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_writes_waiting_are_bounded(self):
        waiting = [ensureDeferred(self.writer.publish(post(1_700_000_000 + n)))
                   for n in range(limits.MAX_WRITES_WAITING)]
        refused = self.failureResultOf(ensureDeferred(self.writer.publish(post(1))), ApiError)
        self.assertEqual(refused.value.status, 503)
        self.assertEqual(len(self.store.adds), limits.MAX_WRITES_WAITING)
        self.clock.advance(limits.STORE_DEADLINE_SECONDS)
        for answer in waiting:
            self.failureResultOf(answer, ApiError)


class ReadDeadlineTests(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.store = HandStore()

    def read(self):
        return ensureDeferred(reads.answer_in_time(self.store, Filter(kinds=frozenset({1})),
                                                   self.clock))

    def test_a_late_store_is_answered_from_memory(self):
        self.store.memory = [post(1_700_000_000)]
        answer = self.read()
        self.clock.advance(limits.STORE_DEADLINE_SECONDS)
        self.assertEqual(self.successResultOf(answer), self.store.memory)
        self.assertTrue(self.store.queries[0].called)  # the read was given up (cancelled)

    def test_a_late_store_is_a_503_when_memory_cannot_tell(self):
        answer = self.read()
        self.clock.advance(limits.STORE_DEADLINE_SECONDS)
        self.assertEqual(self.failureResultOf(answer, ApiError).value.status, 503)

    def test_a_failing_store_is_answered_from_memory_or_503(self):
        answer = self.read()
        self.store.queries[0].errback(ConnectionError("lost the connection"))
        self.assertEqual(self.failureResultOf(answer, ApiError).value.status, 503)
        self.store.memory = []
        answer = self.read()
        self.store.queries[1].errback(ConnectionError("lost the connection"))
        self.assertEqual(self.successResultOf(answer), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
