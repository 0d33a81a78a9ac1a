"""A broadcast's origin is only what its sender wrote: a hostile server can name anyone. So the
node never sends anything to a broadcast's origin, and charges what a broadcast costs to the
neighbour whose authenticated session handed it over, not to the origin it names."""

from twisted.trial.unittest import TestCase

from nostrp2p.node.messages import Request, encode_events, encode_request
from nostrp2p.node.node import NodeSettings
from nostrp2p.nostr import KeyPair

from .helpers import ALICE, BOB, CAROL, DAY, MALLORY, NOW, Cluster, async_test, signed


async def with_mallory(testcase, *others, **settings):
    cluster = Cluster(testcase, NodeSettings(share_repeat_seconds=DAY, **settings))
    for who in others:
        await cluster.add(who)
    mallory = cluster.network.join(MALLORY.public)
    mallory.set_handlers(lambda *a: None, lambda *a: None, lambda *a: encode_events([]))
    return cluster, mallory


class ClaimedOriginTests(TestCase):
    @async_test
    async def test_a_share_broadcast_naming_a_victim_sends_the_victim_nothing(self):
        cluster, mallory = await with_mallory(self, ALICE, CAROL, BOB)
        for who in (ALICE, CAROL):  # servers with plenty to share
            for n in range(3):
                await cluster.nodes[who.public].store.add(signed(who, content=f"{n}", at=NOW - n))
        before = len(cluster.network.unicasts) + len(cluster.network.requests)
        # 40-odd bytes, naming Bob as the asker.
        mallory.broadcast(encode_request(Request("share", NOW - 3 * DAY)), claimed_origin=BOB.public)
        await cluster.settle()
        self.assertEqual(cluster.network.unicasts_to(BOB.public), [])
        self.assertEqual(len(cluster.network.unicasts) + len(cluster.network.requests), before)
        for who in (ALICE, CAROL):
            self.assertEqual(cluster.nodes[who.public].counters["share_broadcast_ignored"], 1)

    @async_test
    async def test_a_broadcast_carrying_events_not_signed_by_its_origin_is_dropped(self):
        # A server broadcasts its owner's events only: events of others under an origin (a
        # victim's replayed posts under Mallory's name, Mallory's under Bob's) prove nothing.
        cluster, mallory = await with_mallory(self, ALICE, BOB)
        bobs = signed(BOB, content="bob's own")
        mallory.broadcast(encode_events([bobs]), claimed_origin=MALLORY.public)
        mallory.broadcast(encode_events([signed(MALLORY, content="in bob's name")]),
                          claimed_origin=BOB.public)
        mallory.broadcast(encode_events([signed(MALLORY, content="mixed"), bobs]),
                          claimed_origin=MALLORY.public)
        await cluster.settle()
        alice = cluster.nodes[ALICE.public]
        self.assertEqual(alice.counters["broadcast_not_by_origin"], 3)
        self.assertEqual(await alice.store.count(), 0)
        # Its own events under its own name are taken as any server's.
        mallorys = signed(MALLORY, content="mallory's own")
        mallory.broadcast(encode_events([mallorys]), claimed_origin=MALLORY.public)
        await cluster.settle()
        self.assertTrue(await cluster.holds(ALICE, mallorys))

    @async_test
    async def test_rotating_claimed_origins_does_not_bypass_the_per_neighbour_budget(self):
        cluster, mallory = await with_mallory(self, ALICE, peer_events_per_minute=5)
        authors = [KeyPair.from_secret(bytes([100 + n]) * 32) for n in range(20)]
        for author in authors:  # each from "another server": the origin its author's key
            mallory.broadcast(encode_events([signed(author)]), claimed_origin=author.public)
        await cluster.settle()
        alice = cluster.nodes[ALICE.public]
        self.assertEqual(await alice.store.count(), 5)
        self.assertEqual(alice.counters["peer_rate_limited"], 15)

    @async_test
    async def test_naming_a_victim_as_origin_does_not_use_up_the_victims_budget(self):
        cluster, mallory = await with_mallory(self, ALICE, BOB, peer_events_per_minute=5)
        for n in range(10):
            mallory.broadcast(encode_events([signed(MALLORY, content=f"spam {n}")]),
                              claimed_origin=BOB.public)
        await cluster.settle()
        bobs = signed(BOB, content="the real bob")
        await cluster.publish(BOB, bobs)
        self.assertTrue(await cluster.holds(ALICE, bobs))
