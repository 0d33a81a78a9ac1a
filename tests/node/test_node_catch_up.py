""""Share your events": a server that was away asks its neighbours on start (and again once
it has neighbours), by request, and they answer with the last three days, within the overlay's
size limit."""

from twisted.trial.unittest import TestCase

from nostrp2p.node import limits
from nostrp2p.node.messages import Request
from nostrp2p.node.node import NodeSettings

from .helpers import ALICE, BOB, CAROL, DAY, NOW, Cluster, async_test, ptag, signed


def share_requests(cluster, origin):
    return [r for r in cluster.network.requests
            if r.origin == origin.public and isinstance(r.message, Request)
            and r.message.what == "share"]


def share_answers(cluster, asker):
    """The neighbours that took (and so answered) ``asker``'s share requests."""
    return [r.destination for r in share_requests(cluster, asker) if r.delivered]


class ShareOnStartTests(TestCase):
    @async_test
    async def test_a_server_that_was_away_catches_up_on_the_last_three_days(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        recent = signed(ALICE, content="yesterday", at=NOW - DAY)
        reply = signed(ALICE, tags=[ptag(BOB)], content="to bob, two days ago", at=NOW - 2 * DAY)
        too_old = signed(ALICE, content="last week", at=NOW - 3 * DAY - 1)
        for event in (recent, reply, too_old):
            await cluster.nodes[ALICE.public].store.add(event)
        bobs = signed(BOB, content="bob's", at=NOW - 100)
        await cluster.nodes[BOB.public].store.add(bobs)

        await cluster.add(CAROL)  # starts: asks its neighbours to share

        for event in (recent, bobs):
            self.assertTrue(await cluster.holds(CAROL, event))
        self.assertFalse(await cluster.holds(CAROL, too_old))
        self.assertFalse(await cluster.holds(CAROL, reply))  # Bob's alone (test_unicast_only)
        self.assertEqual(sorted(share_answers(cluster, CAROL)), sorted([ALICE.public, BOB.public]))
        self.assertEqual(share_requests(cluster, CAROL)[0].message.argument, NOW - 3 * DAY)
        self.assertEqual(cluster.network.unicasts_to(CAROL.public), [])

    @async_test
    async def test_starting_without_neighbours_then_overlay_ready(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        post = signed(ALICE, content="while carol was starting")
        await cluster.nodes[ALICE.public].store.add(post)
        cluster.network.isolated.add(CAROL.public)
        carol = await cluster.add(CAROL)  # no neighbours to ask, and that is fine
        self.assertFalse(await cluster.holds(CAROL, post))
        self.assertEqual(share_requests(cluster, CAROL), [])
        self.assertEqual(carol.counters["share_asked"], 1)

        cluster.network.isolated.clear()
        await cluster.advance(5)
        carol.overlay_ready()  # the first neighbour
        await cluster.settle()
        self.assertTrue(await cluster.holds(CAROL, post))
        self.assertEqual(len(share_requests(cluster, CAROL)), 1)

        # Neighbours lost and found again soon after: no new request; much later: one.
        await cluster.advance(limits.SHARE_MIN_INTERVAL_SECONDS - 1)
        carol.overlay_ready()
        self.assertEqual(len(share_requests(cluster, CAROL)), 1)
        await cluster.advance(1)
        carol.overlay_ready()
        self.assertEqual(len(share_requests(cluster, CAROL)), 2)

    @async_test
    async def test_the_request_is_repeated_once_a_little_after_start(self):
        cluster = Cluster(self, NodeSettings(share_repeat_seconds=30))
        await cluster.add(ALICE)
        post = signed(ALICE, content="hello")
        await cluster.nodes[ALICE.public].store.add(post)
        cluster.network.isolated.add(CAROL.public)
        await cluster.add(CAROL)
        await cluster.advance(10)
        cluster.network.isolated.clear()  # the overlay found a neighbour, and did not say so
        await cluster.advance(19)
        self.assertFalse(await cluster.holds(CAROL, post))
        await cluster.advance(1)
        self.assertTrue(await cluster.holds(CAROL, post))
        await cluster.advance(3600)
        self.assertEqual(len(share_requests(cluster, CAROL)), 1)  # the repeat, once it had one

    @async_test
    async def test_overlay_ready_before_the_repeat_replaces_it(self):
        cluster = Cluster(self, NodeSettings(share_repeat_seconds=30))
        carol = await cluster.add(CAROL)
        await cluster.advance(1)
        carol.overlay_ready()
        await cluster.advance(3600)
        self.assertEqual(carol.counters["share_asked"], 2)


class ShareAnswerTests(TestCase):
    @async_test
    async def test_a_big_answer_is_trimmed_to_the_unicast_limit_keeping_the_newest(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        posts = [signed(ALICE, content=f"{n:02d}" + "x" * 60_000, at=NOW - 1000 + n)
                 for n in range(12)]  # about 720 KB in all
        for post in posts:
            await cluster.nodes[ALICE.public].store.add(post)
        await cluster.add(CAROL)
        self.assertEqual(share_answers(cluster, CAROL), [ALICE.public])
        held = [await cluster.holds(CAROL, p) for p in posts]
        kept = sum(held)
        self.assertEqual(held, [False] * (12 - kept) + [True] * kept)  # the newest
        self.assertEqual(cluster.nodes[ALICE.public].counters["share_trimmed"], 1)

    @async_test
    async def test_share_requests_of_one_peer_are_answered_a_few_times_an_hour(self):
        cluster = Cluster(self, NodeSettings(peer_shares_per_hour=2))
        await cluster.add(ALICE)
        await cluster.nodes[ALICE.public].store.add(signed(ALICE))
        carol = await cluster.add(CAROL)  # one request at start
        for _ in range(3):
            carol._ask_to_share()
        await cluster.settle()
        alice = cluster.nodes[ALICE.public]
        self.assertEqual(alice.counters["share_rate_limited"], 2)
        self.assertEqual(len(share_requests(cluster, CAROL)), 4)
