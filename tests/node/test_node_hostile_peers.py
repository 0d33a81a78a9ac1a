"""Servers that send garbage, or answer with what was not asked for, change nothing else."""

import random

from twisted.trial.unittest import TestCase

from nostrp2p.node.messages import encode_events
from nostrp2p.node.node import NodeSettings
from nostrp2p.nostr import Filter, verify_event

from .helpers import ALICE, BOB, MALLORY, NOW, Cluster, async_test, signed


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        choice = rng.random()
        position = rng.randrange(len(data) + 1)
        if choice < 0.5 and data:
            data[min(position, len(data) - 1)] = rng.randrange(256)
        elif choice < 0.75:
            data[position:position] = rng.randbytes(rng.randrange(1, 8))
        else:
            del data[position:position + rng.randrange(1, 8)]
    return bytes(data)


class HostilePeerTests(TestCase):
    @async_test
    async def test_mutated_messages_never_raise_and_only_signed_events_are_stored(self):
        # No budgets: every mutation must reach the decoder.
        cluster = Cluster(self, NodeSettings(peer_events_per_minute=10**6,
                                             peer_requests_per_minute=10**6,
                                             peer_shares_per_hour=10**6))
        await cluster.add(BOB)
        mallory = cluster.network.join(MALLORY.public)
        valid = encode_events([signed(ALICE, content=f"post {n}", tags=[["t", "x"]])
                               for n in range(3)])
        rng = random.Random(20261125)
        for _ in range(600):
            payload = mutate(rng, valid)
            mallory.broadcast(payload)
            mallory.send(BOB.public, payload)
            answer = await mallory.request(BOB.public, payload)
            self.assertIsInstance(answer, bytes)
        await cluster.settle()
        stored = await cluster.nodes[BOB.public].store.query(Filter())
        for event in stored:
            verify_event(event)  # raises if a mutation got through unverified
        counters = cluster.nodes[BOB.public].counters
        self.assertEqual(counters["peer_rate_limited"] + counters["request_rate_limited"], 0)
        self.assertGreater(counters["malformed"], 600)

    @async_test
    async def test_an_answer_with_more_than_was_asked_stores_only_what_was_asked(self):
        cluster = Cluster(self)
        bob = await cluster.add(BOB)
        profile = signed(MALLORY, kind=0, content='{"name":"mallory"}')
        spam = [signed(MALLORY, content=f"buy now {n}") for n in range(5)]
        not_hers = signed(ALICE, kind=0, content='{"name":"alice (old)"}', at=NOW - 5)
        mallory = cluster.network.join(MALLORY.public)
        mallory.set_handlers(lambda *a: None, lambda *a: None,
                             lambda payload, origin, via: encode_events([*spam, not_hers, profile]))
        bob.wanted(Filter(kinds=frozenset({0}), authors=frozenset({MALLORY.public})), [])
        await cluster.settle()
        self.assertEqual(await bob.store.current_profile(MALLORY.public), profile)
        self.assertEqual(await bob.store.count(), 1)
