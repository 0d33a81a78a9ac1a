"""Followers delivery at the node: the owner's follow list decides which channels the server joins
and what it keeps; posts, reposts and profiles of a followers-mode server go down its channel,
mentions, replies and reactions stay unicast; servers of both modes lose nothing of each
other's posts."""

from twisted.trial.unittest import TestCase

from twisted.internet.defer import Deferred

from nostrp2p.node import limits
from nostrp2p.node.node import Node
from nostrp2p.node.messages import encode_events, encode_mode
from nostrp2p.nostr import KeyPair

from .helpers import ALICE, BOB, CAROL, DAVE, MALLORY, Cluster, async_test, ptag, signed


def follow_list(who, *followed, at=None):
    extra = {} if at is None else {"at": at}
    return signed(who, kind=3, tags=[ptag(f) for f in followed], content="", **extra)


class FollowerDeliveryTests(TestCase):
    async def _cluster(self, modes):
        self.cluster = Cluster(self)
        for who, mode in modes.items():
            await self.cluster.add(who, delivery=mode)
        return self.cluster

    @async_test
    async def test_a_post_goes_down_the_channel_to_followers_and_nobody_else(self):
        c = await self._cluster({ALICE: "followers", BOB: "followers", CAROL: "followers"})
        await c.publish(BOB, follow_list(BOB, ALICE))
        post = signed(ALICE, content="to my followers")
        await c.publish(ALICE, post)
        self.assertTrue(await c.holds(BOB, post))
        self.assertFalse(await c.holds(CAROL, post))
        self.assertEqual(c.network.broadcasts, [])
        self.assertEqual(len(c.network.channel_posts), 1)

    @async_test
    async def test_reposts_and_profiles_go_down_the_channel_too(self):
        c = await self._cluster({ALICE: "followers", BOB: "followers"})
        await c.publish(BOB, follow_list(BOB, ALICE))
        profile = signed(ALICE, kind=0, content='{"name":"alice"}')
        repost = signed(ALICE, kind=6, tags=[["e", "ab" * 32]], content="")
        for event in (profile, repost):
            await c.publish(ALICE, event)
            self.assertTrue(await c.holds(BOB, event))
        self.assertEqual(c.network.broadcasts, [])

    @async_test
    async def test_mentions_replies_and_reactions_stay_unicast(self):
        c = await self._cluster({ALICE: "followers", BOB: "followers", CAROL: "followers"})
        await c.publish(BOB, follow_list(BOB, ALICE))
        mention = signed(ALICE, tags=[ptag(CAROL)], content="hi carol")
        reaction = signed(ALICE, kind=7, tags=[ptag(CAROL), ["e", "cd" * 32]], content="+")
        for event in (mention, reaction):
            await c.publish(ALICE, event)
            self.assertTrue(await c.holds(CAROL, event))
            self.assertFalse(await c.holds(BOB, event))
        self.assertEqual(c.network.channel_posts, [])
        self.assertEqual(len(c.network.unicasts_to(CAROL.public)), 2)

    @async_test
    async def test_a_new_follow_list_joins_and_leaves_channels(self):
        c = await self._cluster({ALICE: "followers", BOB: "followers", DAVE: "followers"})
        await c.publish(BOB, follow_list(BOB, ALICE, DAVE))
        self.assertEqual(c.network.followers[ALICE.public], {BOB.public})
        await c.publish(BOB, follow_list(BOB, DAVE, at=signed(BOB).created_at + 1))
        self.assertEqual(c.network.followers[ALICE.public], set())
        self.assertEqual(c.network.followers[DAVE.public], {BOB.public})
        post = signed(ALICE, content="after the unfollow")
        await c.publish(ALICE, post)
        self.assertFalse(await c.holds(BOB, post))

    @async_test
    async def test_a_restarted_server_joins_its_follows_again_from_its_store(self):
        c = await self._cluster({ALICE: "followers", BOB: "followers"})
        await c.publish(BOB, follow_list(BOB, ALICE))
        c.network.followers.clear()  # the overlay forgot everything (the process restarted)
        await c.restart(BOB)
        post = signed(ALICE, content="after the restart")
        await c.publish(ALICE, post)
        self.assertTrue(await c.holds(BOB, post))

    @async_test
    async def test_followers_mode_keeps_only_what_its_owner_follows_from_broadcasts(self):
        c = await self._cluster({ALICE: "broadcast", DAVE: "broadcast", BOB: "followers",
                                 CAROL: "broadcast"})
        await c.publish(BOB, follow_list(BOB, ALICE))
        followed = signed(ALICE, content="followed")
        stranger = signed(DAVE, content="stranger")
        await c.publish(ALICE, followed)
        await c.publish(DAVE, stranger)
        self.assertTrue(await c.holds(BOB, followed))
        self.assertFalse(await c.holds(BOB, stranger))
        self.assertEqual(c.nodes[BOB.public].counters["not_followed"], 1)
        self.assertTrue(await c.holds(CAROL, stranger))  # broadcast mode keeps everything

    @async_test
    async def test_both_modes_in_one_network_lose_no_follower_post(self):
        c = await self._cluster({ALICE: "followers", BOB: "broadcast", CAROL: "followers",
                                 DAVE: "broadcast"})
        await c.publish(BOB, follow_list(BOB, ALICE, DAVE))
        await c.publish(CAROL, follow_list(CAROL, ALICE, DAVE))
        from_followers_mode = signed(ALICE, content="down the channel")
        from_broadcast_mode = signed(DAVE, content="broadcast")
        await c.publish(ALICE, from_followers_mode)
        await c.publish(DAVE, from_broadcast_mode)
        for follower in (BOB, CAROL):
            self.assertTrue(await c.holds(follower, from_followers_mode))
            self.assertTrue(await c.holds(follower, from_broadcast_mode))

    @async_test
    async def test_a_broadcast_network_keeps_up_no_trees(self):
        # Authors in broadcast mode: their posts come by broadcast, and a channel of theirs
        # would cost heartbeats to parents for nothing.
        c = await self._cluster({BOB: "broadcast", DAVE: "broadcast"})
        await c.publish(BOB, follow_list(BOB, DAVE))
        self.assertNotIn(BOB.public, c.network.followers.get(DAVE.public, set()))
        self.assertEqual(c.nodes[BOB.public].counters["mode_probed"], 1)
        post = signed(DAVE, content="broadcast")
        await c.publish(DAVE, post)
        self.assertTrue(await c.holds(BOB, post))

    @async_test
    async def test_a_server_of_an_earlier_version_counts_as_broadcasting(self):
        c = await self._cluster({BOB: "broadcast"})
        old = c.network.join(MALLORY.public)  # it cannot read a "mode" request: empty EVENTS
        old.set_handlers(lambda *a: None, lambda *a: None, lambda *a: encode_events([]))
        await c.publish(BOB, follow_list(BOB, MALLORY))
        self.assertNotIn(BOB.public, c.network.followers.get(MALLORY.public, set()))
        self.assertEqual(c.nodes[BOB.public].counters["mode_probed"], 1)

    @async_test
    async def test_a_long_follow_list_is_asked_a_few_at_a_time(self):
        c = await self._cluster({BOB: "broadcast"})
        unanswered = []
        authors = [KeyPair.from_secret(bytes([60 + n]) * 32) for n in range(40)]
        for author in authors:  # servers slow to answer
            slow = c.network.join(author.public)
            slow.set_handlers(lambda *a: None, lambda *a: None,
                              lambda *a: unanswered.append(Deferred()) or unanswered[-1])
        c.nodes[BOB.public].subscriptions.apply(follow_list(BOB, *authors))
        self.assertEqual(len(unanswered), limits.MODE_PROBES_IN_FLIGHT)
        answered = 0
        while answered < len(unanswered):  # each answer lets the next question go
            unanswered[answered].callback(encode_mode("broadcast"))
            answered += 1
            self.assertLessEqual(len(unanswered) - answered, limits.MODE_PROBES_IN_FLIGHT)
        await c.settle()
        self.assertEqual(len(unanswered), len(authors))
        self.assertEqual(c.nodes[BOB.public].counters["mode_probed"], len(authors))

    @async_test
    async def test_an_author_away_when_followed_is_asked_again_and_its_channel_joined(self):
        c = await self._cluster({ALICE: "followers", BOB: "broadcast"})
        c.network.unreachable.add(ALICE.public)
        await c.publish(BOB, follow_list(BOB, ALICE))
        self.assertNotIn(BOB.public, c.network.followers.get(ALICE.public, set()))
        self.assertEqual(c.nodes[BOB.public].counters["mode_probe_failed"], 1)
        c.network.unreachable.discard(ALICE.public)
        await c.advance(limits.MODE_PROBE_SECONDS + limits.MODE_PROBE_CHECK_SECONDS)
        self.assertIn(BOB.public, c.network.followers.get(ALICE.public, set()))
        post = signed(ALICE, content="down the channel")
        await c.publish(ALICE, post)
        self.assertTrue(await c.holds(BOB, post))

    @async_test
    async def test_a_channel_carries_only_its_authors_events(self):
        c = await self._cluster({ALICE: "followers", BOB: "followers", DAVE: "followers"})
        await c.publish(BOB, follow_list(BOB, ALICE))
        slipped_in = signed(DAVE, content="not alice's")
        # A forwarder of ALICE's channel puts DAVE's (validly signed) event in it.
        c.network.overlays[ALICE.public].publish_to_followers(encode_events([slipped_in]))
        await c.settle()
        self.assertFalse(await c.holds(BOB, slipped_in))
        self.assertEqual(c.nodes[BOB.public].counters["not_the_channels_author"], 1)

    @async_test
    async def test_posts_of_an_author_no_longer_followed_are_not_kept(self):
        c = await self._cluster({ALICE: "followers", BOB: "followers", DAVE: "followers"})
        await c.publish(BOB, follow_list(BOB, ALICE))
        post = signed(DAVE, content="a channel BOB never asked for")
        c.network.followers.setdefault(DAVE.public, set()).add(BOB.public)  # a stale join
        await c.publish(DAVE, post)
        self.assertFalse(await c.holds(BOB, post))
        self.assertEqual(c.nodes[BOB.public].counters["channel_not_followed"], 1)

    def test_an_unknown_delivery_mode_is_refused(self):
        c = Cluster(self)
        with self.assertRaises(ValueError):
            Node(None, c.network.join(ALICE.public), ALICE.public, c.clock, delivery="firehose")
