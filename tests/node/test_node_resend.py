"""The resend queue: a reply, mention or reaction for a server that cannot be reached now is
retried 5 min x 2^n after each failure (n = 1..10), then dropped; the queue survives a restart."""

from twisted.trial.unittest import TestCase

from nostrp2p.node import limits
from nostrp2p.node.node import NodeSettings

from .helpers import ALICE, BOB, CAROL, NOW, Cluster, async_test, ptag, signed

# Exact times are checked, so the queue is looked at every second.
SETTINGS = NodeSettings(resend_check_seconds=1, share_repeat_seconds=10 ** 9)
BASE = limits.RESEND_BASE_SECONDS


def attempts_to(cluster, who):
    return [s.time for s in cluster.network.unicasts if s.destination == who.public]


class ResendScheduleTests(TestCase):
    @async_test
    async def test_retried_on_the_exact_backoff_schedule_then_dropped(self):
        cluster = Cluster(self, SETTINGS)
        alice = await cluster.add(ALICE)
        await cluster.add(BOB)
        cluster.network.unreachable.add(BOB.public)
        reply = signed(ALICE, tags=[["e", "ab" * 32, "", "root"], ptag(BOB)], content="hi bob")
        await cluster.publish(ALICE, reply)
        self.assertEqual(attempts_to(cluster, BOB), [NOW])

        expected = [NOW]
        for n in range(1, limits.RESEND_ATTEMPTS + 1):
            due = expected[-1] + BASE * 2 ** n
            await cluster.advance(due - 1 - cluster.clock.seconds())
            self.assertEqual(attempts_to(cluster, BOB), expected, f"retry {n} came early")
            await cluster.advance(1)
            expected.append(due)
            self.assertEqual(attempts_to(cluster, BOB), expected, f"retry {n} did not come")
        self.assertAlmostEqual((expected[-1] - NOW) / 86400, 7.1, places=1)  # 600 s x (2^10 - 1)

        self.assertEqual(alice.counters["resend_dropped"], 1)
        self.assertEqual(await alice.store.due_resends(NOW + 10 ** 8, 10), [])
        cluster.network.unreachable.clear()
        await cluster.advance(30 * 86400)
        self.assertEqual(len(attempts_to(cluster, BOB)), 1 + limits.RESEND_ATTEMPTS)
        self.assertFalse(await cluster.holds(BOB, reply))

    @async_test
    async def test_delivered_when_the_server_is_back(self):
        cluster = Cluster(self, SETTINGS)
        alice = await cluster.add(ALICE)
        await cluster.add(BOB)
        await cluster.add(CAROL)
        cluster.network.unreachable.add(BOB.public)
        like = signed(ALICE, kind=7, tags=[["e", "ab" * 32], ptag(BOB)], content="+")
        mention = signed(ALICE, tags=[ptag(BOB), ptag(CAROL)], content="hi both")
        await cluster.publish(ALICE, like)
        await cluster.publish(ALICE, mention)
        self.assertTrue(await cluster.holds(CAROL, mention))  # Carol is not held up by Bob
        await cluster.advance(2 * BASE)  # first retry: Bob still away
        self.assertFalse(await cluster.holds(BOB, like))
        cluster.network.unreachable.clear()
        await cluster.advance(4 * BASE - 1)
        self.assertFalse(await cluster.holds(BOB, like))
        await cluster.advance(1)
        self.assertTrue(await cluster.holds(BOB, like))
        self.assertTrue(await cluster.holds(BOB, mention))
        self.assertEqual(alice.counters["resend_delivered"], 2)
        self.assertEqual(await alice.store.due_resends(NOW + 10 ** 8, 10), [])
        self.assertEqual(len(cluster.network.unicasts_to(CAROL.public)), 1)  # no extra copy

    @async_test
    async def test_a_destination_that_times_out_does_not_hold_up_the_others(self):
        cluster = Cluster(self, SETTINGS)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        await cluster.add(CAROL)
        self.addCleanup(cluster.network.time_out_hanging)  # before the nodes settle
        cluster.network.unreachable.update({BOB.public, CAROL.public})
        to_carol = [signed(ALICE, tags=[ptag(CAROL)], content=f"carol {n}") for n in range(2)]
        to_bob = signed(ALICE, tags=[ptag(BOB)], content="bob")
        for event in (*to_carol, to_bob):
            await cluster.publish(ALICE, event)
        cluster.network.unreachable.clear()
        cluster.network.hanging.add(CAROL.public)
        cluster.clock.advance(2 * BASE)
        for _ in range(100):  # Alice never settles: Carol's first retry is still hanging
            if await cluster.holds(BOB, to_bob):
                break
            await cluster.nodes[BOB.public].settled()
        self.assertTrue(await cluster.holds(BOB, to_bob))
        self.assertEqual(len(cluster.network.unicasts_to(CAROL.public, delivered=False)), 3)
        cluster.network.time_out_hanging()
        await cluster.settle()
        # Carol's second item was not tried after the first timed out; both wait for retry 2.
        self.assertEqual(len(cluster.network.unicasts_to(CAROL.public, delivered=False)), 3)
        cluster.network.hanging.clear()
        await cluster.advance(4 * BASE)
        for event in to_carol:
            self.assertTrue(await cluster.holds(CAROL, event))

    @async_test
    async def test_a_restarted_server_resumes_its_queue(self):
        cluster = Cluster(self, SETTINGS)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        cluster.network.unreachable.add(BOB.public)
        reply = signed(ALICE, tags=[ptag(BOB)], content="are you there?")
        await cluster.publish(ALICE, reply)
        await cluster.advance(2 * BASE)  # retry 1 fails
        self.assertEqual(len(attempts_to(cluster, BOB)), 2)

        # Alice's server is down for a while; Bob comes back meanwhile.
        old = cluster.nodes[ALICE.public]
        await old.settled()
        old.stop()
        cluster.network.leave(ALICE.public)
        cluster.network.unreachable.clear()
        await cluster.advance(2 * 3600)  # retry 2 was due while Alice was down
        self.assertFalse(await cluster.holds(BOB, reply))

        new = await cluster.add(ALICE, store=old.store)  # a new Node on the same store
        self.assertTrue(await cluster.holds(BOB, reply))
        self.assertEqual(new.counters["resend_delivered"], 1)
        self.assertEqual(await new.store.due_resends(NOW + 10 ** 8, 10), [])

    @async_test
    async def test_the_backoff_unit_is_a_setting(self):
        cluster = Cluster(self, NodeSettings(resend_base_seconds=0.5, resend_check_seconds=0.25,
                                             resend_attempts=3, share_repeat_seconds=10 ** 9))
        await cluster.add(ALICE)
        await cluster.add(BOB)
        cluster.network.unreachable.add(BOB.public)
        await cluster.publish(ALICE, signed(ALICE, tags=[ptag(BOB)]))
        for _ in range(40):
            await cluster.advance(0.25)
        self.assertEqual([t - NOW for t in attempts_to(cluster, BOB)], [0, 1, 3, 7])


class DeliveryFailuresTests(TestCase):
    """`nostrp2p status` shows the last failed deliveries: when, to whom, why, boundedly."""

    @async_test
    async def test_failures_are_remembered_newest_last_within_a_bound(self):
        cluster = Cluster(self, SETTINGS)
        alice = await cluster.add(ALICE)
        await cluster.add(BOB)
        cluster.network.unreachable.add(BOB.public)
        for n in range(limits.RECENT_FAILURES_KEPT + 3):
            await cluster.publish(ALICE, signed(ALICE, tags=[ptag(BOB)], content=f"hi {n}"))
        failures = list(alice.resender.failures)
        self.assertEqual(len(failures), limits.RECENT_FAILURES_KEPT)
        when, target, why = failures[-1]
        self.assertEqual((when, target), (NOW, BOB.public))
        self.assertTrue(why)
        await cluster.advance(2 * BASE)  # the retries fail too, and are remembered
        self.assertEqual(alice.resender.failures[-1][:2], (NOW + 2 * BASE, BOB.public))
