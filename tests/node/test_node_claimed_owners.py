"""The owner key a session announces is only claimed (nothing proves it yet), and a relay may
write any origin on what it carries. So what a unicast or a request costs is charged to the
overlay key of the authenticated session it arrived on: claiming a victim's owner key spends
nothing of the victim's budgets, and claiming many owners on one session buys no more than one
session's budget."""

from twisted.trial.unittest import TestCase

from nostrp2p.node.messages import Request, decode, encode_events, encode_request
from nostrp2p.nostr import KeyPair

from .helpers import ALICE, BOB, CAROL, DAY, MALLORY, NOW, async_test, ptag, signed
from .test_node_hostile_origins import with_mallory

OTHER_OWNERS = [KeyPair.from_secret(bytes([100 + n]) * 32) for n in range(20)]


class ClaimingAVictimsOwnerKeyTests(TestCase):
    @async_test
    async def test_unicasts_claiming_a_victim_do_not_use_up_its_budget_at_a_third_server(self):
        cluster, mallory = await with_mallory(self, ALICE, BOB, peer_events_per_minute=5)
        for n in range(10):
            mallory.send(ALICE.public, encode_events([signed(MALLORY, content=f"spam {n}")]),
                         claimed_origin=BOB.public)
        await cluster.settle()
        mention = signed(BOB, tags=[ptag(ALICE)], content="hello alice")
        await cluster.publish(BOB, mention)
        self.assertTrue(await cluster.holds(ALICE, mention))

    @async_test
    async def test_requests_claiming_a_victim_do_not_use_up_its_share_budget(self):
        cluster, mallory = await with_mallory(self, ALICE, peer_shares_per_hour=2)
        post = signed(ALICE, content="while bob was away", at=NOW - 60)
        await cluster.nodes[ALICE.public].store.add(post)
        for _ in range(5):
            await mallory.request(ALICE.public, encode_request(Request("share", NOW - DAY)),
                                  claimed_origin=BOB.public)
        await cluster.add(BOB)  # starts, and asks its neighbours to share
        self.assertTrue(await cluster.holds(BOB, post))

    @async_test
    async def test_unicasts_claiming_a_neighbours_key_do_not_use_up_its_broadcast_budget(self):
        # The owner key claimed may also be written equal to the overlay key of one of our
        # neighbours (here Alice's).
        cluster, mallory = await with_mallory(self, ALICE, BOB, peer_events_per_minute=5)
        alice_session = cluster.network.overlays[ALICE.public].overlay_key
        for n in range(10):
            mallory.send(BOB.public, encode_events([signed(MALLORY, content=f"spam {n}")]),
                         claimed_origin=alice_session)
        await cluster.settle()
        alices = signed(ALICE, content="the real alice")
        await cluster.publish(ALICE, alices)
        self.assertTrue(await cluster.holds(BOB, alices))


class RotatingClaimedOwnersTests(TestCase):
    @async_test
    async def test_unicasts_under_many_claimed_owners_share_one_sessions_budget(self):
        cluster, mallory = await with_mallory(self, ALICE, peer_events_per_minute=5)
        for owner in OTHER_OWNERS:
            mallory.send(ALICE.public, encode_events([signed(owner)]), claimed_origin=owner.public)
        await cluster.settle()
        alice = cluster.nodes[ALICE.public]
        self.assertEqual(await alice.store.count(), 5)
        self.assertEqual(alice.counters["peer_rate_limited"], len(OTHER_OWNERS) - 5)

    @async_test
    async def test_requests_under_many_claimed_owners_share_one_sessions_budget(self):
        cluster, mallory = await with_mallory(self, ALICE, peer_requests_per_minute=5)
        profile = signed(ALICE, kind=0, content="{}", at=NOW - 60)
        await cluster.nodes[ALICE.public].store.add(profile)
        answered = 0
        for owner in OTHER_OWNERS:
            reply = await mallory.request(ALICE.public, encode_request(Request("profile")),
                                          claimed_origin=owner.public)
            answered += bool(decode(reply).events)
        self.assertEqual(answered, 5)
        self.assertEqual(cluster.nodes[ALICE.public].counters["request_rate_limited"],
                         len(OTHER_OWNERS) - 5)


class HonestServersTests(TestCase):
    @async_test
    async def test_each_honest_server_has_a_budget_of_its_own(self):
        cluster, _ = await with_mallory(self, ALICE, BOB, CAROL, peer_events_per_minute=5)
        mentions = []
        for who in (BOB, CAROL):
            for n in range(5):
                mentions.append(signed(who, tags=[ptag(ALICE)], content=f"{n} for alice"))
                await cluster.publish(who, mentions[-1])
        for mention in mentions:
            self.assertTrue(await cluster.holds(ALICE, mention))
        self.assertEqual(cluster.nodes[ALICE.public].counters["peer_rate_limited"], 0)
