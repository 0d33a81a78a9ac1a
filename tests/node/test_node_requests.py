"""Fetching what the client asks for and this server lacks, refreshing stale profiles, and
catching up after being away ("share your events")."""

from twisted.trial.unittest import TestCase

from nostrp2p.node import limits
from nostrp2p.node.node import NodeSettings
from nostrp2p.nostr import Filter

from .helpers import ALICE, BOB, CAROL, DAY, NOW, Cluster, async_test, signed


def profile_filter(*who):
    return Filter(kinds=frozenset({0}), authors=frozenset(w.public for w in who))


def follows_filter(*who):
    return Filter(kinds=frozenset({3}), authors=frozenset(w.public for w in who))


async def client_reads(cluster, who, event_filter, client=None):
    """What the REST API does for a /req: answer from the store, then tell the node
    (``client``: the reading address, None for the owner's client)."""
    node = cluster.nodes[who.public]
    if event_filter.kinds == frozenset({0}):
        held = [e for e in [await node.store.current_profile(a) for a in event_filter.authors] if e]
    elif event_filter.kinds == frozenset({3}):
        held = [e for e in [await node.store.current_follow_list(a) for a in event_filter.authors]
                if e]
    else:
        held = await node.store.query(event_filter)
    node.wanted(event_filter, held, client)
    await cluster.settle()
    return held


def asked(cluster, what, origin):
    return [s for s in cluster.network.requests
            if s.origin == origin.public and s.message.what == what]


class FetchOnDemandTests(TestCase):
    @async_test
    async def test_a_missing_profile_is_fetched_for_the_next_poll(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        profile = signed(ALICE, kind=0, content='{"name":"alice"}', at=NOW - 10)
        await cluster.nodes[ALICE.public].store.add(profile)  # published before Bob came
        self.assertEqual(await client_reads(cluster, BOB, profile_filter(ALICE)), [])
        self.assertEqual(await client_reads(cluster, BOB, profile_filter(ALICE)), [profile])
        self.assertEqual(len(asked(cluster, "profile", BOB)), 1)

    @async_test
    async def test_a_missing_follow_list_is_fetched(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        follows = signed(ALICE, kind=3, tags=[["p", CAROL.public.hex()]], content="")
        await cluster.publish(ALICE, follows)
        self.assertEqual(await client_reads(cluster, BOB, follows_filter(ALICE)), [])
        self.assertEqual(await client_reads(cluster, BOB, follows_filter(ALICE)), [follows])

    @async_test
    async def test_a_missing_post_is_fetched_by_id_from_its_author(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        await cluster.add(CAROL)
        post = signed(ALICE, content="said while Bob was away")
        other = signed(ALICE, content="not asked for")
        for event in (post, other):
            await cluster.nodes[ALICE.public].store.add(event)
        wanted = Filter(kinds=frozenset({1}), ids=frozenset({post.id}),
                        authors=frozenset({ALICE.public}))
        self.assertEqual(await client_reads(cluster, BOB, wanted), [])
        self.assertEqual(await client_reads(cluster, BOB, wanted), [post])
        self.assertFalse(await cluster.holds(BOB, other))
        self.assertEqual([s.destination for s in asked(cluster, "post", BOB)], [ALICE.public])

    @async_test
    async def test_an_unreachable_author_is_asked_again_only_after_a_while(self):
        cluster = Cluster(self, NodeSettings(share_repeat_seconds=DAY))  # no catch-up meanwhile
        await cluster.add(ALICE)
        await cluster.add(BOB)
        profile = signed(ALICE, kind=0, content='{"name":"alice"}')
        await cluster.nodes[ALICE.public].store.add(profile)
        cluster.network.unreachable.add(ALICE.public)
        polls = int(limits.FETCH_RETRY_SECONDS // 10)
        for _ in range(polls):  # the client polls every 10 s
            self.assertEqual(await client_reads(cluster, BOB, profile_filter(ALICE)), [])
            await cluster.advance(10)
        self.assertEqual(len(asked(cluster, "profile", BOB)), 1)
        self.assertEqual(cluster.nodes[BOB.public].counters["fetch_failed"], 1)
        cluster.network.unreachable.clear()
        await cluster.advance(limits.FETCH_RETRY_SECONDS - 10 * polls)
        await client_reads(cluster, BOB, profile_filter(ALICE))
        self.assertEqual(await client_reads(cluster, BOB, profile_filter(ALICE)), [profile])
        self.assertEqual(len(asked(cluster, "profile", BOB)), 2)

    @async_test
    async def test_what_is_held_and_the_owners_own_are_not_fetched(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        mine = signed(BOB, kind=0, content='{"name":"bob"}', at=NOW - 3 * DAY)
        fresh = signed(ALICE, kind=0, content='{"name":"alice"}', at=NOW - DAY + 60)
        for event in (mine, fresh):
            await cluster.nodes[BOB.public].store.add(event)
        await client_reads(cluster, BOB, profile_filter(ALICE, BOB))
        await client_reads(cluster, BOB, profile_filter(BOB))
        await client_reads(cluster, BOB, Filter(kinds=frozenset({1}), ids=frozenset({b"\x01" * 32}),
                                                authors=frozenset({BOB.public})))
        self.assertEqual(asked(cluster, "profile", BOB) + asked(cluster, "post", BOB), [])


class RefreshTests(TestCase):
    @async_test
    async def test_a_stale_profile_is_refreshed_at_most_once_an_hour(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        old = signed(ALICE, kind=0, content='{"name":"alice"}', at=NOW - DAY - 1)
        await cluster.nodes[BOB.public].store.add(old)
        await cluster.nodes[ALICE.public].store.add(old)
        for _ in range(6):  # a minute of polls
            self.assertEqual(await client_reads(cluster, BOB, profile_filter(ALICE)), [old])
            await cluster.advance(10)
        self.assertEqual(len(asked(cluster, "profile", BOB)), 1)

    @async_test
    async def test_a_refresh_brings_the_newer_profile_after_an_hour(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        old = signed(ALICE, kind=0, content='{"name":"alice"}', at=NOW - 2 * DAY)
        await cluster.nodes[BOB.public].store.add(old)
        await client_reads(cluster, BOB, profile_filter(ALICE))  # Alice has none: asked, nothing
        renamed = signed(ALICE, kind=0, content='{"name":"alicia"}', at=NOW + 60)
        await cluster.advance(60)
        await cluster.nodes[ALICE.public].store.add(renamed)  # Bob did not get the broadcast
        await cluster.advance(3600 - 61)
        self.assertEqual(await client_reads(cluster, BOB, profile_filter(ALICE)), [old])
        self.assertEqual(len(asked(cluster, "profile", BOB)), 1)
        await cluster.advance(1)
        await client_reads(cluster, BOB, profile_filter(ALICE))
        self.assertEqual(await client_reads(cluster, BOB, profile_filter(ALICE)), [renamed])
        self.assertEqual(len(asked(cluster, "profile", BOB)), 2)

    @async_test
    async def test_the_hourly_stamp_survives_a_restart(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        old = signed(ALICE, kind=3, tags=[], content="", at=NOW - 2 * DAY)
        await cluster.nodes[BOB.public].store.add(old)
        await client_reads(cluster, BOB, follows_filter(ALICE))
        await cluster.restart(BOB)
        await cluster.advance(limits.FETCH_RETRY_SECONDS * 2)
        await client_reads(cluster, BOB, follows_filter(ALICE))
        self.assertEqual(len(asked(cluster, "follows", BOB)), 1)


class BoundTests(TestCase):
    @async_test
    async def test_one_read_causes_a_bounded_number_of_requests(self):
        from nostrp2p.nostr import KeyPair

        cluster = Cluster(self)
        await cluster.add(BOB)
        strangers = [KeyPair.from_secret(bytes([200, n]) * 16) for n in range(50)]
        await client_reads(cluster, BOB, profile_filter(*strangers))
        self.assertEqual(len(asked(cluster, "profile", BOB)), limits.MAX_FETCHES_PER_WANTED)
        await client_reads(cluster, BOB, profile_filter(*strangers))  # the rest, next poll
        self.assertEqual(len({s.destination for s in asked(cluster, "profile", BOB)}), 50)

    @async_test
    async def test_one_client_address_cannot_use_up_the_fetches_of_others(self):
        from nostrp2p.nostr import KeyPair

        cluster = Cluster(self)
        await cluster.add(BOB)
        authors = iter([KeyPair.from_secret(bytes([201, n % 256, n // 256]) + bytes(29))
                        for n in range(600)])

        async def fetches_caused(client):
            before = len(asked(cluster, "profile", BOB))
            wanted = profile_filter(*[next(authors) for _ in range(limits.MAX_FETCHES_PER_WANTED)])
            await client_reads(cluster, BOB, wanted, client)
            return len(asked(cluster, "profile", BOB)) - before

        # One address reading fresh authors in a loop gets its own budget, then nothing.
        caused = [await fetches_caused("192.0.2.1") for _ in range(5)]
        self.assertEqual(sum(caused), limits.FETCHES_PER_CLIENT)
        # Another address still has its whole budget, and so has the owner's client.
        self.assertEqual(await fetches_caused("192.0.2.2"), limits.FETCHES_PER_CLIENT)
        self.assertEqual(await fetches_caused(None), limits.MAX_FETCHES_PER_WANTED)
        # Many addresses together are held to the strangers' shared budget; the owner is not.
        caused = [await fetches_caused(f"198.51.100.{n}") for n in range(6)]
        self.assertEqual(sum(caused) + 2 * limits.FETCHES_PER_CLIENT, limits.FETCHES_BY_STRANGERS)
        self.assertEqual(await fetches_caused(None), limits.MAX_FETCHES_PER_WANTED)
        # The budget comes back with time.
        cluster.clock.advance(limits.FETCH_BUDGET_SECONDS)
        self.assertEqual(await fetches_caused("192.0.2.1"), limits.FETCHES_PER_CLIENT)
