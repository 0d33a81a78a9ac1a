"""A mention, reply or reaction goes to the servers it names and nowhere else: it is never
stored by a bystander, whether it reaches one in a share answer, a fetch answer, or a message
from a peer that should not have sent it. (The five-server end-to-end test once saw "the
reaction to A leaked to boot": the bootstrap had asked to share and been given it.)"""

from twisted.trial.unittest import TestCase

from nostrp2p.node.messages import encode_events
from nostrp2p.nostr import Filter

from .helpers import ALICE, BOB, CAROL, DAVE, MALLORY, NOW, Cluster, async_test, ptag, signed


async def carol_talks_to_alice(cluster):
    """Alice's post, Carol's reaction to it and Carol's reply to Alice, delivered."""
    post = signed(ALICE, content="alice's post", at=NOW - 60)
    await cluster.publish(ALICE, post)
    reaction = signed(CAROL, kind=7, content="+", tags=[["e", post.id.hex()], ptag(ALICE)],
                      at=NOW - 30)
    reply = signed(CAROL, content="a reply", tags=[["e", post.id.hex()], ptag(ALICE)], at=NOW - 20)
    for event in (reaction, reply):
        await cluster.publish(CAROL, event)
        assert await cluster.holds(ALICE, event)
    return post, reaction, reply


class UnicastOnlyTests(TestCase):
    async def three(self):
        cluster = Cluster(self)
        for who in (ALICE, BOB, CAROL):
            await cluster.add(who)
        return cluster

    @async_test
    async def test_a_server_asking_to_share_gets_the_posts_but_not_what_is_for_others(self):
        cluster = await self.three()
        post, reaction, reply = await carol_talks_to_alice(cluster)
        await cluster.add(DAVE)  # starts: asks everyone to share; Alice and Carol answer
        self.assertTrue(await cluster.holds(DAVE, post))
        self.assertFalse(await cluster.holds(DAVE, reaction), "the reaction leaked to Dave")
        self.assertFalse(await cluster.holds(DAVE, reply), "the reply leaked to Dave")

    @async_test
    async def test_the_server_it_is_addressed_to_gets_it_back_by_share(self):
        cluster = await self.three()
        _, reaction, reply = await carol_talks_to_alice(cluster)
        old = cluster.nodes.pop(ALICE.public)  # Alice's server loses its data and comes back
        await old.settled()
        old.stop()
        cluster.network.leave(ALICE.public)
        await cluster.add(ALICE)
        self.assertTrue(await cluster.holds(ALICE, reaction))
        self.assertTrue(await cluster.holds(ALICE, reply))

    @async_test
    async def test_a_fetch_by_id_does_not_bring_it_to_a_bystander(self):
        cluster = await self.three()
        _, reaction, reply = await carol_talks_to_alice(cluster)
        bob = cluster.nodes[BOB.public]
        bob.wanted(Filter(ids=frozenset({reaction.id, reply.id}), authors=frozenset({CAROL.public})),
                   [])
        await cluster.settle()
        self.assertFalse(await cluster.holds(BOB, reaction))
        self.assertFalse(await cluster.holds(BOB, reply))

    @async_test
    async def test_a_bystander_given_one_does_not_store_it(self):
        cluster = await self.three()
        _, reaction, reply = await carol_talks_to_alice(cluster)
        mallory = cluster.network.join(MALLORY.public)  # on the overlay, without a node
        mallory.send(BOB.public, encode_events([reaction]))
        mallory.broadcast(encode_events([reply]), claimed_origin=CAROL.public)
        await cluster.settle()
        self.assertFalse(await cluster.holds(BOB, reaction))
        self.assertFalse(await cluster.holds(BOB, reply))
        self.assertEqual(cluster.nodes[BOB.public].counters["not_addressed_here"], 2)
