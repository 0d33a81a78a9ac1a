"""What a server believes of events arriving over the overlay, and the abuse bounds."""

import dataclasses

import msgpack
from twisted.trial.unittest import TestCase

from nostrp2p.node import limits
from nostrp2p.node.messages import encode_events, encode_request, Request
from nostrp2p.node.node import NodeSettings
from nostrp2p.nostr import sign_event
from nostrp2p.store.recent_ids import RecentIds

from .helpers import ALICE, BOB, CAROL, MALLORY, NOW, Cluster, async_test, signed


async def two_servers(testcase, **settings):
    cluster = Cluster(testcase, NodeSettings(**settings))
    await cluster.add(ALICE)
    await cluster.add(BOB)
    return cluster


def broadcast(cluster, sender, events):
    cluster.network.overlays[sender.public].broadcast(encode_events(events))


class VerificationTests(TestCase):
    @async_test
    async def test_forged_and_tampered_events_are_not_stored(self):
        cluster = await two_servers(self)
        genuine = signed(ALICE, content="I like cats")
        tampered = dataclasses.replace(genuine, content="I hate cats")  # old id and sig
        reid = signed(ALICE, content="I hate cats")
        wrong_sig = dataclasses.replace(reid, sig=genuine.sig)  # right id, someone else's sig
        impostor = sign_event(MALLORY.secret, NOW, 1, (), "I am alice")
        impostor = dataclasses.replace(impostor, pubkey=ALICE.public)
        cluster.network.join(MALLORY.public)  # on the overlay, without a NostrP2P node
        broadcast(cluster, MALLORY, [tampered, wrong_sig, impostor])
        await cluster.settle()
        cluster.network.overlays[ALICE.public].send(BOB.public, encode_events([tampered]))
        await cluster.settle()
        bob = cluster.nodes[BOB.public]
        for event in (tampered, wrong_sig, impostor):
            self.assertFalse(await cluster.holds(BOB, event))
        self.assertEqual(await bob.store.count(), 0)
        self.assertEqual(bob.counters["bad_signature"], 4)

        broadcast(cluster, ALICE, [genuine])
        await cluster.settle()
        self.assertTrue(await cluster.holds(BOB, genuine))

    @async_test
    async def test_messages_of_one_turn_are_checked_one_by_one_though_stored_together(self):
        # More single-event broadcasts in one reactor turn than one batch holds, a forged one
        # and copies among them: each is judged on its own, and the turn's store calls are few.
        cluster = await two_servers(self, peer_events_per_minute=10**6,
                                    author_events_per_hour=10**6)
        cluster.network.join(MALLORY.public)
        posts = [signed(ALICE, content=f"post {n}", at=NOW - n)
                 for n in range(limits.INTAKE_BATCH_MAX + 10)]
        forged = dataclasses.replace(signed(ALICE, content="mine"), content="not alice's")
        bob = cluster.nodes[BOB.public]
        writes = []
        add_all = bob.store.add_all
        bob.store.add_all = lambda events: writes.append(len(events)) or add_all(events)
        for n, post in enumerate(posts):
            broadcast(cluster, ALICE, [post])
            if n == 3:
                broadcast(cluster, MALLORY, [forged])
            if n % 100 == 0:
                broadcast(cluster, ALICE, [posts[0]])  # a copy of one already on its way
        await cluster.settle()
        self.assertEqual(await bob.store.count(), len(posts))
        self.assertFalse(await cluster.holds(BOB, forged))
        self.assertEqual(bob.counters["bad_signature"], 1)
        self.assertEqual(bob.counters["stored"], len(posts))
        self.assertEqual(bob.counters["duplicates"], len(range(0, len(posts), 100)))
        self.assertEqual(sum(writes), len(posts))
        self.assertLessEqual(len(writes), 2)

    @async_test
    async def test_an_older_profile_does_not_replace_a_newer_one(self):
        cluster = await two_servers(self)
        new = signed(ALICE, kind=0, content='{"name":"new"}', at=NOW)
        old = signed(ALICE, kind=0, content='{"name":"old"}', at=NOW - 100)
        newer_follows = signed(ALICE, kind=3, tags=[["p", BOB.public.hex()]], content="", at=NOW)
        older_follows = signed(ALICE, kind=3, tags=[], content="", at=NOW - 5)
        broadcast(cluster, ALICE, [new, newer_follows])
        await cluster.settle()
        broadcast(cluster, ALICE, [old, older_follows])
        await cluster.settle()
        store = cluster.nodes[BOB.public].store
        self.assertEqual(await store.current_profile(ALICE.public), new)
        self.assertEqual(await store.current_follow_list(ALICE.public), newer_follows)
        newest = signed(ALICE, kind=0, content='{"name":"newest"}', at=NOW + 1)
        broadcast(cluster, ALICE, [newest])
        await cluster.settle()
        self.assertEqual(await store.current_profile(ALICE.public), newest)

    @async_test
    async def test_copies_are_stored_once(self):
        cluster = await two_servers(self)
        post = signed(ALICE)
        broadcast(cluster, ALICE, [post, post])
        broadcast(cluster, ALICE, [post])
        await cluster.settle()
        bob = cluster.nodes[BOB.public]
        self.assertEqual(await bob.store.count(), 1)
        self.assertEqual(bob.counters["stored"], 1)

    async def _bob_holding(self, post):
        """Two servers; ``post`` broadcast by Alice and stored by Bob: (cluster, Bob's node)."""
        cluster = await two_servers(self)
        broadcast(cluster, ALICE, [post])
        await cluster.settle()
        return cluster, cluster.nodes[BOB.public]

    @async_test
    async def test_copies_of_recent_events_are_known_without_reading_the_store(self):
        post = signed(ALICE, content="once")
        cluster, bob = await self._bob_holding(post)
        reads = []
        real_get = bob.store.get
        self.patch(bob.store, "get", lambda ids: reads.append(ids) or real_get(ids))
        broadcast(cluster, ALICE, [post])
        await cluster.settle()
        self.assertEqual(reads, [])
        self.assertEqual(bob.counters["duplicates"], 1)
        self.assertEqual(bob.counters["stored"], 1)

    @async_test
    async def test_a_copy_of_an_event_memory_has_forgotten_is_still_stored_once(self):
        post = signed(ALICE, content="long ago")
        cluster, bob = await self._bob_holding(post)
        # As after a restart, or long after: neither the window nor the filter knows it.
        bob.store.timeline.discard(post.id)
        bob.store.recent_ids = RecentIds()
        broadcast(cluster, ALICE, [post])
        await cluster.settle()
        self.assertEqual(await bob.store.count(), 1)
        self.assertEqual(bob.counters["stored"], 1)
        self.assertEqual(bob.counters["duplicates"], 1)

    @async_test
    async def test_events_far_in_the_future_are_refused(self):
        cluster = await two_servers(self)
        ahead = signed(ALICE, content="from the future", at=NOW + limits.MAX_FUTURE_SECONDS + 1)
        drift = signed(ALICE, content="a fast clock", at=NOW + limits.MAX_FUTURE_SECONDS)
        broadcast(cluster, ALICE, [ahead, drift])
        await cluster.settle()
        self.assertFalse(await cluster.holds(BOB, ahead))
        self.assertTrue(await cluster.holds(BOB, drift))
        self.assertEqual(cluster.nodes[BOB.public].counters["future_refused"], 1)

    @async_test
    async def test_unaccepted_kinds_and_garbage_are_dropped_and_counted(self):
        cluster = await two_servers(self)
        dm = signed(ALICE, kind=4, content="secret")
        broadcast(cluster, ALICE, [dm])
        alice = cluster.network.overlays[ALICE.public]
        for garbage in (b"", b"\xc1", msgpack.packb([1, 1, [[1, 2, 3]]]), b"\x00" * 5000,
                        msgpack.packb([1, 1, [None] * (limits.MAX_EVENTS_PER_MESSAGE + 1)])):
            alice.broadcast(garbage)
            alice.send(BOB.public, garbage)
            self.assertEqual(await alice.request(BOB.public, garbage), encode_events([]))
        await cluster.settle()
        bob = cluster.nodes[BOB.public]
        self.assertFalse(await cluster.holds(BOB, dm))
        self.assertEqual(bob.counters["kind_refused"], 1)
        self.assertEqual(bob.counters["malformed"], 15)
        post = signed(ALICE, content="still listening")
        broadcast(cluster, ALICE, [post])
        await cluster.settle()
        self.assertTrue(await cluster.holds(BOB, post))


class RateLimitTests(TestCase):
    @async_test
    async def test_a_peer_delivering_too_many_events_is_cut_off_until_its_budget_refills(self):
        cluster = await two_servers(self, peer_events_per_minute=10)
        posts = [signed(ALICE, content=f"post {n}") for n in range(14)]
        broadcast(cluster, ALICE, posts[:4])  # one message of four events costs four
        for post in posts[4:]:
            broadcast(cluster, ALICE, [post])
        await cluster.settle()
        held = [await cluster.holds(BOB, p) for p in posts]
        self.assertEqual(held, [True] * 10 + [False] * 4)
        self.assertEqual(cluster.nodes[BOB.public].counters["peer_rate_limited"], 4)
        # Someone else's budget is their own.
        carol_post = signed(CAROL, content="carol")
        await cluster.add(CAROL)
        broadcast(cluster, CAROL, [carol_post])
        await cluster.advance(6)  # one event's worth of refill at 10 a minute
        broadcast(cluster, ALICE, [posts[10]])
        broadcast(cluster, ALICE, [posts[11]])
        await cluster.settle()
        self.assertTrue(await cluster.holds(BOB, carol_post))
        self.assertTrue(await cluster.holds(BOB, posts[10]))
        self.assertFalse(await cluster.holds(BOB, posts[11]))

    @async_test
    async def test_an_author_is_capped_per_hour_and_copies_do_not_count(self):
        cluster = await two_servers(self, author_events_per_hour=5)
        await cluster.add(CAROL)
        posts = [signed(ALICE, content=f"post {n}") for n in range(7)]
        broadcast(cluster, ALICE, posts[:3])
        # The same three again from another server (a share answer, say): not new, not counted.
        broadcast(cluster, CAROL, posts[:3])
        broadcast(cluster, CAROL, posts[3:])  # relayed by Carol: still Alice's budget
        await cluster.settle()
        held = [await cluster.holds(BOB, p) for p in posts]
        self.assertEqual(held, [True] * 5 + [False] * 2)
        self.assertEqual(cluster.nodes[BOB.public].counters["author_rate_limited"], 2)
        await cluster.advance(3600 / 5)
        broadcast(cluster, CAROL, posts[5:])
        await cluster.settle()
        self.assertEqual([await cluster.holds(BOB, p) for p in posts[5:]], [True, False])

    @async_test
    async def test_a_peer_making_too_many_requests_gets_empty_answers(self):
        # (No repeated share request at 20 s: it too is a request, and would take the refill.)
        cluster = await two_servers(self, peer_requests_per_minute=3, share_repeat_seconds=3600)
        await cluster.add(CAROL)
        profile = signed(BOB, kind=0, content='{"name":"bob"}')
        await cluster.publish(BOB, profile)
        ask = encode_request(Request("profile"))
        alice = cluster.network.overlays[ALICE.public]
        answers = [await alice.request(BOB.public, ask) for _ in range(4)]
        self.assertEqual(answers[:3], [encode_events([profile])] * 3)
        self.assertEqual(answers[3], encode_events([]))
        carol = cluster.network.overlays[CAROL.public]
        self.assertEqual(await carol.request(BOB.public, ask), encode_events([profile]))
        await cluster.advance(20)  # one request's worth of refill at 3 a minute
        self.assertEqual(await alice.request(BOB.public, ask), encode_events([profile]))
        self.assertEqual(await alice.request(BOB.public, ask), encode_events([]))


class BusyTests(TestCase):
    @async_test
    async def test_a_flood_faster_than_the_store_is_dropped_and_counted_not_queued(self):
        cluster = await two_servers(self, peer_events_per_minute=10**6,
                                    author_events_per_hour=10**6)
        extra = 20
        posts = [signed(ALICE, content=f"flood {n}", at=NOW - n)
                 for n in range(limits.MAX_TASKS_IN_FLIGHT + extra)]
        bob = cluster.nodes[BOB.public]
        for post in posts:  # all arrive before the store answered any
            broadcast(cluster, ALICE, [post])
        self.assertEqual(len(bob.tasks), limits.MAX_TASKS_IN_FLIGHT)
        self.assertEqual(bob.counters["busy_dropped"], extra)
        await cluster.settle()
        self.assertEqual(await bob.store.count(), limits.MAX_TASKS_IN_FLIGHT)
        late = signed(ALICE, content="after the flood")
        broadcast(cluster, ALICE, [late])
        await cluster.settle()
        self.assertTrue(await cluster.holds(BOB, late))
