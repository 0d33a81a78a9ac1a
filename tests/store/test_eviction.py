"""Eviction that a flood cannot turn against the owner (real redis-server).

Profiles and follow lists from fresh keys cost nothing to make; they must never push out the
events of the authors the owner follows or talks with.
"""

from twisted.trial import unittest

from nostrp2p.nostr import Filter, sign_event
from nostrp2p.store import keys
from nostrp2p.store.testing import start_test_store

from .events import make_event
from .test_redis_store import async_test

OWNER, FOLLOWED, TALKED_TO = 0, (1, 2), 3
POSTS = frozenset({1})


def fresh_profiles(count: int, first: int = 0):
    """Kind 0 events from ``count`` keys nobody knows, newer than anything else in the store."""
    return [sign_event((10_000 + n).to_bytes(32, "big"), 1_800_000_000, 0, (), f"spam {n}")
            for n in range(first, first + count)]


async def owner_store(testcase, max_events: int):
    """A store whose owner follows FOLLOWED and replied to TALKED_TO, each with 20 posts and a
    profile and follow list: the state the flood attacks."""
    store = await start_test_store(testcase, max_events=max_events)
    await store.protect_owner(make_event(OWNER).pubkey)
    follows = [("p", make_event(n).pubkey.hex()) for n in FOLLOWED]
    await store.add(make_event(OWNER, kind=3, tags=follows))
    reply = make_event(OWNER, created_at=1_700_000_100,
                       tags=[("p", make_event(TALKED_TO).pubkey.hex())])
    await store.add(reply)
    protected = {}
    for author in FOLLOWED + (TALKED_TO,):
        posts = [make_event(author, created_at=1_700_000_000 + n, content=f"post {n}")
                 for n in range(20)]
        profile = make_event(author, kind=0, content="me")
        follow_list = make_event(author, kind=3, tags=[("p", "ef" * 32)])
        await store.add_all(posts + [profile, follow_list])
        protected[author] = (posts, profile, follow_list)
    return store, protected


class FloodTests(unittest.TestCase):
    timeout = 120

    async def assert_all_survived(self, store, protected):
        for author, (posts, profile, follow_list) in protected.items():
            pubkey = make_event(author).pubkey
            held = await store.query(Filter(authors=frozenset({pubkey}), kinds=POSTS))
            self.assertEqual(len(held), len(posts), f"posts of author {author}")
            self.assertEqual(await store.current_profile(pubkey), profile)
            self.assertEqual(await store.current_follow_list(pubkey), follow_list)
        owner = make_event(OWNER).pubkey
        self.assertIsNotNone(await store.current_follow_list(owner))

    @async_test
    async def test_ten_thousand_fresh_profiles_evict_none_of_the_followed_and_talked_to(self):
        store, protected = await owner_store(self, max_events=1_000)
        flood = fresh_profiles(10_000)
        for start in range(0, len(flood), 500):
            await store.add_all(flood[start:start + 500])
        await self.assert_all_survived(store, protected)
        self.assertLessEqual(await store.count(), 1_000)
        # The newest of the flood are what is left of it, not the oldest.
        self.assertIsNotNone(await store.current_profile(flood[-1].pubkey))
        self.assertIsNone(await store.current_profile(flood[0].pubkey))

    @async_test
    async def test_with_a_small_cap_the_followed_keep_their_posts_and_profiles(self):
        # The reported flood: --max-events 50 and 200 fresh profiles left 0 of 40 posts.
        store, protected = await owner_store(self, max_events=70)
        for profile in fresh_profiles(200):
            await store.add(profile)
        await self.assert_all_survived(store, protected)
        self.assertLessEqual(await store.count(), 70)

    @async_test
    async def test_unprotected_profiles_are_capped_least_recently_received_first(self):
        store, protected = await owner_store(self, max_events=100_000)
        store.max_unprotected = 100
        flood = fresh_profiles(150)
        for profile in flood[:100]:
            await store.add(profile)
        await store.add(flood[0])  # received again: used, so it stays
        for profile in flood[100:]:
            await store.add(profile)
        self.assertEqual(int(await store.redis.execute_command("ZCARD", keys.UNPROTECTED)), 100)
        held = [await store.current_profile(p.pubkey) is not None for p in flood]
        self.assertEqual(held, [True] + [False] * 50 + [True] * 99)
        await self.assert_all_survived(store, protected)

    @async_test
    async def test_unfollowing_ends_the_protection_and_following_starts_it(self):
        store, protected = await owner_store(self, max_events=100_000)
        store.max_unprotected = 10
        # The owner now follows only author 1: author 2 is unprotected, the first in line.
        await store.add(make_event(OWNER, created_at=1_700_000_200, kind=3,
                                   tags=[("p", make_event(1).pubkey.hex())]))
        flood = fresh_profiles(10)
        await store.add_all(flood)
        self.assertIsNone(await store.current_profile(make_event(2).pubkey))
        self.assertIsNotNone(await store.current_profile(make_event(1).pubkey))
        # Following a flooder protects the profile the store already holds.
        await store.add(make_event(OWNER, created_at=1_700_000_300, kind=3,
                                   tags=[("p", flood[0].pubkey.hex())]))
        await store.add_all(fresh_profiles(30, first=10))
        self.assertEqual(await store.current_profile(flood[0].pubkey), flood[0])
        self.assertIsNone(await store.current_profile(flood[1].pubkey))
