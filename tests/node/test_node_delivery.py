"""What the owner publishes reaches whom, kind by kind (SEED-BEHAVIOUR.md's table)."""

from twisted.trial.unittest import TestCase

from nostrp2p.node.messages import EventsMessage, Request, decode, encode_request

from .helpers import ALICE, BOB, CAROL, DAVE, Cluster, async_test, ptag, signed

ROOT = "ab" * 32


class BroadcastKindsTests(TestCase):
    @async_test
    async def test_posts_reposts_quotes_and_profiles_reach_every_server(self):
        cluster = Cluster(self)
        for who in (ALICE, BOB, CAROL):
            await cluster.add(who)
        events = [
            signed(ALICE, content="a normal post"),
            signed(ALICE, tags=[["e", ROOT, "", "mention"], ptag(BOB), ["q"]], content="quoted"),
            signed(ALICE, kind=6, tags=[["e", ROOT, ""], ptag(BOB)], content="{}"),
            signed(ALICE, kind=0, content='{"name":"alice"}'),
            signed(ALICE, tags=[ptag(ALICE)], content="a note to myself is a post"),
        ]
        for event in events:
            await cluster.publish(ALICE, event)
        for who in (BOB, CAROL):
            for event in events:
                self.assertTrue(await cluster.holds(who, event), (who, event.kind, event.content))
        self.assertEqual((await cluster.nodes[BOB.public].store.current_profile(ALICE.public)),
                         events[3])
        self.assertEqual(cluster.network.unicasts, [])


class UnicastKindsTests(TestCase):
    @async_test
    async def test_a_reply_reaches_only_the_named_servers(self):
        cluster = Cluster(self)
        for who in (ALICE, BOB, CAROL, DAVE):
            await cluster.add(who)
        reply = signed(ALICE, tags=[["e", ROOT, "", "root"], ptag(BOB), ptag(CAROL)], content="hi")
        await cluster.publish(ALICE, reply)
        self.assertTrue(await cluster.holds(BOB, reply))
        self.assertTrue(await cluster.holds(CAROL, reply))
        self.assertFalse(await cluster.holds(DAVE, reply))
        self.assertEqual([b for b in cluster.network.broadcasts
                          if isinstance(b.message, EventsMessage)], [])
        self.assertEqual([s.destination for s in cluster.network.unicasts
                          if s.origin == ALICE.public], [BOB.public, CAROL.public])

    @async_test
    async def test_a_mention_without_e_tags_reaches_only_the_mentioned(self):
        cluster = Cluster(self)
        for who in (ALICE, BOB, CAROL):
            await cluster.add(who)
        mention = signed(ALICE, tags=[ptag(CAROL)], content="hey @carol")
        await cluster.publish(ALICE, mention)
        self.assertTrue(await cluster.holds(CAROL, mention))
        self.assertFalse(await cluster.holds(BOB, mention))

    @async_test
    async def test_a_reaction_reaches_the_reacted_to_author_only(self):
        cluster = Cluster(self)
        for who in (ALICE, BOB, CAROL):
            await cluster.add(who)
        like = signed(ALICE, kind=7, tags=[["e", ROOT], ptag(BOB), ptag(CAROL)], content="+")
        await cluster.publish(ALICE, like)
        self.assertTrue(await cluster.holds(BOB, like))
        self.assertFalse(await cluster.holds(CAROL, like))


class FollowListTests(TestCase):
    @async_test
    async def test_the_follow_list_stays_home_and_is_served_on_request(self):
        cluster = Cluster(self)
        for who in (ALICE, BOB):
            await cluster.add(who)
        follows = signed(ALICE, kind=3, tags=[ptag(BOB), ptag(CAROL)], content="")
        sent_before = len(cluster.network.broadcasts) + len(cluster.network.unicasts)
        await cluster.publish(ALICE, follows)
        self.assertEqual(len(cluster.network.broadcasts) + len(cluster.network.unicasts),
                         sent_before)
        self.assertFalse(await cluster.holds(BOB, follows))

        reply = decode(await cluster.network.overlays[BOB.public].request(
            ALICE.public, encode_request(Request("follows"))))
        self.assertEqual(reply, EventsMessage((follows,)))

    @async_test
    async def test_requests_for_profile_and_post_are_answered_from_the_store(self):
        cluster = Cluster(self)
        for who in (ALICE, BOB):
            await cluster.add(who)
        profile = signed(ALICE, kind=0, content='{"name":"alice"}')
        post = signed(ALICE, content="kept")
        await cluster.publish(ALICE, profile)
        await cluster.publish(ALICE, post)
        bob = cluster.network.overlays[BOB.public]
        ask = lambda request: bob.request(ALICE.public, encode_request(request))  # noqa: E731
        self.assertEqual(decode(await ask(Request("profile"))), EventsMessage((profile,)))
        self.assertEqual(decode(await ask(Request("post", post.id))), EventsMessage((post,)))
        self.assertEqual(decode(await ask(Request("post", b"\x00" * 32))), EventsMessage(()))
        self.assertEqual(decode(await ask(Request("follows"))), EventsMessage(()))
