"""Timers go with the state they serve: when a partial message is completed or dropped, an
announced broadcast id is pushed out of the missing table, or a request is answered, its timer
goes too (as do a finished handshake's and a finished send's), so the core's timer queue holds about as many entries
as there is live state, however much state came and went (a peer sending one-fragment unicasts
as fast as it can must not grow it by one entry each for REASSEMBLY_TIMEOUT). And a timeout
whose time has come does its work: it does not ask to be called again for the same instant."""

import itertools

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.reassembly import Reassembly
from tests.mesh.helpers import grow


class TimerQueueBoundTests(TestCase):
    def setUp(self):
        self.net, self.nodes = grow(3, seed=61, settle=10)
        self.victim = self.net.node(self.nodes[0])
        self.peer = next(p for p in self.victim.links.peers.values() if p.current is not None)

    def _fragment(self, n, count=1):
        return m.Fragment(n.to_bytes(16, "big"), 0, count, m.KIND_MESSAGE, None, b"x")

    def test_completed_and_evicted_partial_messages_leave_no_timer_behind(self):
        before = len(self.victim.timers)
        for n in range(2000):  # whole at once: delivered, nothing to time out
            self.victim.dispatch(self.peer, self._fragment(n), self.net.now)
        for n in range(2000, 4000):  # first of two pieces: each pushes out the peer's oldest
            self.victim.dispatch(self.peer, self._fragment(n, count=2), self.net.now)
        self.assertEqual(self.victim.stats["unicast_delivered"], 2000)
        self.assertLess(len(self.victim.timers), before + 200)

    def test_announced_ids_pushed_out_of_the_missing_table_leave_no_graft_timer(self):
        before = len(self.victim.timers)
        ids = (n.to_bytes(16, "big") for n in itertools.count())
        for _ in range(400):  # fresh ids, never sent: each waits for a graft until pushed out
            mids = tuple(next(ids) for _ in range(limits.MAX_IHAVE_IDS))
            self.victim.dispatch(self.peer, m.IHave(mids), self.net.now)
        self.assertGreater(self.victim.stats["missing_table_full"], 1000)
        self.assertLess(len(self.victim.timers), before + 2 * limits.MISSING_MAX + 100)

    def test_answered_requests_leave_no_timer_behind(self):
        before = len(self.victim.timers)
        for _ in range(50):
            outcomes = [self.net.request(self.nodes[0], self.net.owner_of(self.nodes[1]), b"q")
                        for _ in range(20)]
            self.net.run_for(1)
            self.assertEqual([o.result for o in outcomes], [b"re:q"] * 20)
        # 1,000 requests answered within REQUEST_TIMEOUT: their deadlines are gone with them
        self.assertLess(len(self.victim.timers), before + 200)


class TimersTests(TestCase):
    def test_cancelled_calls_never_fire_and_are_cleared_from_the_queue(self):
        from nostrp2p.mesh.timers import Timers
        timers, fired = Timers(), []
        kept = [timers.call_at(float(n), lambda now, n=n: fired.append(n)) for n in range(0, 10000, 100)]
        for n in range(10000):
            timers.call_at(50.5, fired.append).cancel()
        self.assertLess(len(timers), 2 * len(kept) + 70)
        kept[3].cancel()
        timers.run_due(10000.0)
        self.assertEqual(fired, [n for n in range(0, 10000, 100) if n != 300])
        self.assertEqual((len(timers), timers.next_deadline()), (0, None))
        kept[0].cancel()  # a call that has run: nothing to undo
        self.assertEqual(timers._cancelled, 0)


class ReassemblyTimeoutTests(TestCase):
    def test_a_partial_message_is_dropped_at_its_timeout_not_asked_again_for_the_same_instant(self):
        # For some times, (last + timeout) - last < timeout in floating point. The timeout once
        # checked that, found the message not idle long enough, and asked to be called again at
        # last + timeout: the very instant it was running at, so the timer queue ran it again
        # and again without end (a 10,000-server simulated run hung there).
        parts = Reassembly(lambda counter: None, 64, 10_000, "full", "timed out")
        last = 233.53278450004373
        parts.add(b"key", 0, 2, b"first of two", last)
        now = last + limits.REASSEMBLY_TIMEOUT
        self.assertLess(now - last, limits.REASSEMBLY_TIMEOUT)  # the case
        self.assertIsNone(parts.drop_if_idle(b"key", now, limits.REASSEMBLY_TIMEOUT))
        self.assertNotIn(b"key", parts)
        parts.add(b"later", 0, 2, b"first of two", last)
        self.assertEqual(parts.drop_if_idle(b"later", now - 1, limits.REASSEMBLY_TIMEOUT), now)
