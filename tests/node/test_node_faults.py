"""The node keeps serving when its overlay or its store misbehave."""

from twisted.internet.defer import fail
from twisted.trial.unittest import TestCase

from nostrp2p.node.messages import Request, encode_events, encode_request
from nostrp2p.node.node import Node, NodeSettings
from nostrp2p.store.redis_store import StoreError
from nostrp2p.store.testing import start_test_store

from .helpers import ALICE, BOB, Cluster, async_test, ptag, signed
from .network import MemoryOverlay


class StoreWithFaults:
    """A real store whose named operations fail the next ``n`` times they are called."""

    def __init__(self, store):
        self._store = store
        self.faults: dict[str, int] = {}

    def __getattr__(self, name):
        operation = getattr(self._store, name)
        if not callable(operation):
            return operation

        def maybe_failing(*args):
            if self.faults.get(name, 0) > 0:
                self.faults[name] -= 1
                return fail(StoreError(f"{name} failed (test fault)"))
            return operation(*args)
        return maybe_failing


class RaisingOverlay(MemoryOverlay):
    def broadcast(self, payload):
        raise RuntimeError("no neighbours yet")

    def request(self, owner_key, payload):
        raise RuntimeError("no neighbours yet")


class FaultTests(TestCase):
    @async_test
    async def test_start_survives_an_overlay_that_raises_on_request(self):
        cluster = Cluster(self)
        await cluster.add(ALICE, start=False)
        overlay = RaisingOverlay(cluster.network, BOB.public)
        cluster.network.overlays[BOB.public] = overlay
        node = Node(cluster.nodes[ALICE.public].store, overlay, BOB.public, cluster.clock)
        node.start()
        self.addCleanup(node.stop)
        self.addCleanup(node.settled)
        node.overlay_ready()
        await node.settled()
        # Asked (its neighbour Alice) at start and when ready: each fault logged, none raised.
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)

    @async_test
    async def test_the_resend_loop_outlives_a_store_outage(self):
        cluster = Cluster(self, NodeSettings(resend_check_seconds=1, share_repeat_seconds=10**9))
        await cluster.add(BOB)
        store = StoreWithFaults(await start_test_store(self))
        alice = await cluster.add(ALICE, store=store)
        cluster.network.unreachable.add(BOB.public)
        reply = signed(ALICE, tags=[ptag(BOB)], content="hello?")
        await cluster.publish(ALICE, reply)
        cluster.network.unreachable.clear()
        store.faults["due_resends"] = 3
        for _ in range(3):
            await cluster.advance(1)
        self.assertEqual(alice.counters["store_failed"], 3)  # warned, no traceback
        await cluster.advance(600)
        self.assertTrue(await cluster.holds(BOB, reply))
        self.assertEqual(alice.counters["resend_delivered"], 1)

    @async_test
    async def test_a_request_is_answered_empty_while_the_store_is_away(self):
        cluster = Cluster(self)
        store = StoreWithFaults(await start_test_store(self))
        alice = await cluster.add(ALICE, store=store)
        await cluster.add(BOB)
        profile = signed(ALICE, kind=0, content="{}")
        await cluster.publish(ALICE, profile)
        store.faults["current_profile"] = 1
        bob = cluster.network.overlays[BOB.public]
        ask = encode_request(Request("profile"))
        self.assertEqual(await bob.request(ALICE.public, ask), encode_events([]))
        self.assertEqual(alice.counters["answer_failed"], 1)
        self.assertEqual(await bob.request(ALICE.public, ask), encode_events([profile]))

    @async_test
    async def test_a_batch_the_store_fails_gives_its_room_back_and_its_events_come_again(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        store = StoreWithFaults(await start_test_store(self))
        bob = await cluster.add(BOB, store=store)
        alice = cluster.network.overlays[ALICE.public]
        for operation in ("recall", "add_all"):
            posts = [signed(ALICE, content=f"{operation} {n}") for n in range(5)]
            store.faults[operation] = 1
            for post in posts:  # one reactor turn: one batch, which fails
                alice.broadcast(encode_events([post]))
            await cluster.settle()
            self.assertEqual(len(bob.tasks), 0)
            for post in posts:
                self.assertFalse(await cluster.holds(BOB, post))
            for post in posts:  # the same events again: not taken for copies on their way in
                alice.broadcast(encode_events([post]))
            await cluster.settle()
            for post in posts:
                self.assertTrue(await cluster.holds(BOB, post))
        self.assertEqual(bob.counters["store_failed"], 2)  # one warning per failed batch
