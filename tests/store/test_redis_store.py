"""The store against a real (embedded) redis-server: what the REST and node layers rely on."""

import random

from twisted.internet.defer import Deferred
from twisted.trial import unittest

from nostrp2p.nostr import Filter
from zope.interface.verify import verifyObject

from nostrp2p.nostr.codec import pack_event
from nostrp2p.store import IEventStore, RedisEventStore, keys, limits, upgrade
from nostrp2p.store.encoding import packed_form, stored_form
from nostrp2p.store.redis_store import StoreError
from nostrp2p.store.testing import start_test_service, start_test_store
from nostrp2p.store.timeline import RecentWindow

from .events import make_event, newest_first


async def write_older_event(redis, event) -> bytes:
    """An event as versions before layout 2 wrote it: whole, in its author's index under an
    order key of 8 bytes of 2**40 - created_at and the id; that key is returned."""
    okey = (2**40 - event.created_at).to_bytes(8, "big") + event.id
    await redis.hset(keys.EVENTS, event.id, pack_event(event))
    await redis.execute_command("ZADD", keys.author_key(event.pubkey), 0, okey)
    return okey


def async_test(method):
    def wrapper(self):
        return Deferred.fromCoroutine(method(self))
    wrapper.__name__ = method.__name__
    return wrapper


class AddAndGetTests(unittest.TestCase):
    @async_test
    async def test_implements_the_interface(self):
        store = await start_test_store(self)
        self.assertTrue(verifyObject(IEventStore, store))

    @async_test
    async def test_adds_and_reads_in_one_turn_each_get_their_own_answer(self):
        # Calls made together are written (and read) by one script call; each caller must
        # still get exactly what one call alone would have answered.
        from twisted.internet.defer import gatherResults
        store = await start_test_store(self)
        post = make_event(author=1)
        old_profile = make_event(author=2, kind=0, created_at=1_700_000_000)
        new_profile = make_event(author=2, kind=0, created_at=1_700_000_500)
        results = await gatherResults([store.add(e) for e in
                                       (post, post, new_profile, old_profile)])
        self.assertEqual(results, [True, False, True, True])
        self.assertEqual(await store.current_profile(new_profile.pubkey), new_profile)
        many = [make_event(author=3, created_at=1_700_001_000 + n) for n in range(600)]
        self.assertEqual(await gatherResults([store.add(e) for e in many]), [True] * 600)
        reads = await gatherResults([store.get([post.id]), store.get([b"\x00" * 32]),
                                     store.get([many[5].id, post.id])])
        self.assertEqual(reads, [[post], [], [many[5], post]])

    @async_test
    async def test_a_full_batch_leaves_no_write_behind(self):
        # A burst of exactly one batch is written at once; no second, empty script call may
        # stay scheduled behind it.
        from twisted.internet import reactor
        from twisted.internet.defer import gatherResults
        store = await start_test_store(self)
        burst = [make_event(author=4, created_at=1_700_002_000 + n)
                 for n in range(limits.ADD_BATCH_MAX)]
        adds = gatherResults([store.add(e) for e in burst])
        pending = [call for call in reactor.getDelayedCalls()
                   if getattr(call.func, "__self__", None) is store]
        self.assertEqual(pending, [])
        self.assertEqual(await adds, [True] * limits.ADD_BATCH_MAX)

    @async_test
    async def test_add_reports_new_then_duplicate(self):
        store = await start_test_store(self)
        event = make_event()
        self.assertTrue(await store.add(event))
        self.assertFalse(await store.add(event))
        self.assertEqual(await store.count(), 1)
        self.assertEqual(await store.get([event.id, b"\x00" * 32]), [event])

    @async_test
    async def test_events_come_back_byte_identical(self):
        store = await start_test_store(self)
        odd = make_event(content="zero \x00 byte, ünïcode, \"quotes\" and 123",
                         tags=[("p", "ab" * 32), ("t", "x" * 300)])
        numeric = make_event(content="12345")
        await store.add(odd)
        await store.add(numeric)
        self.assertEqual(set(await store.get([odd.id, numeric.id])), {odd, numeric})

    @async_test
    async def test_get_refuses_too_many_ids(self):
        store = await start_test_store(self)
        with self.assertRaises(StoreError):
            await store.get([bytes([n % 256, n // 256]) * 16 for n in range(limits.MAX_GET_IDS + 1)])


class ReplaceableTests(unittest.TestCase):
    @async_test
    async def test_newer_profile_wins_older_does_not(self):
        store = await start_test_store(self)
        old = make_event(kind=0, created_at=100, content='{"name":"old"}')
        new = make_event(kind=0, created_at=200, content='{"name":"new"}')
        await store.add(old)
        self.assertEqual(await store.current_profile(old.pubkey), old)
        await store.add(new)
        self.assertEqual(await store.current_profile(old.pubkey), new)
        older = make_event(kind=0, created_at=150, content='{"name":"late"}')
        self.assertTrue(await store.add(older))
        self.assertEqual(await store.current_profile(old.pubkey), new)

    @async_test
    async def test_equal_time_lowest_id_wins(self):
        store = await start_test_store(self)
        a, b = (make_event(kind=3, created_at=500, tags=[("p", "cd" * 32)], content=c)
                for c in ("a", "b"))
        low, high = sorted([a, b], key=lambda e: e.id)
        await store.add(high)
        await store.add(low)
        self.assertEqual(await store.current_follow_list(a.pubkey), low)
        await store.add(high)
        self.assertEqual(await store.current_follow_list(a.pubkey), low)

    @async_test
    async def test_unknown_author_has_none_and_kinds_are_separate(self):
        store = await start_test_store(self)
        await store.add(make_event(author=1, kind=0))
        self.assertIsNone(await store.current_follow_list(make_event(author=1).pubkey))
        self.assertIsNone(await store.current_profile(make_event(author=2).pubkey))


class CapTests(unittest.TestCase):
    @async_test
    async def test_count_stays_at_cap_and_every_profile_and_follow_list_survives(self):
        cap = 60
        store = await start_test_store(self, max_events=cap)
        # Author 0 is the owner and follows the seven others: all eight are protected.
        await store.protect_owner(make_event(0).pubkey)
        followed = [("p", make_event(n).pubkey.hex()) for n in range(1, 8)]
        currents = []
        for author in range(8):
            # Old replaceable events: they are the oldest in the store, first in line to go.
            stale = make_event(author, created_at=10, kind=0, content="stale")
            profile = make_event(author, created_at=20, kind=0, content="current")
            follows = make_event(author, created_at=20, kind=3,
                                 tags=followed if author == 0 else [("p", "ef" * 32)])
            for event in (stale, profile, follows):
                await store.add(event)
            currents.append((profile, follows))
        notes = [make_event(n % 8, created_at=1000 + n, content=f"note {n}") for n in range(200)]
        for note in notes:
            await store.add(note)
        self.assertEqual(await store.count(), cap)
        for profile, follows in currents:
            self.assertEqual(await store.current_profile(profile.pubkey), profile)
            self.assertEqual(await store.current_follow_list(follows.pubkey), follows)
        kept = await store.query(Filter(kinds=frozenset({1}), limit=cap))
        # 16 current replaceables are kept; the rest of the cap is the newest notes.
        self.assertEqual(kept, newest_first(notes)[: cap - 16])
        self.assertEqual(await store.get([notes[0].id]), [])
        self.assertEqual(await store.query(Filter(authors=frozenset({notes[0].pubkey}), kinds=frozenset({1}))),
                         [n for n in newest_first(notes)[: cap - 16] if n.pubkey == notes[0].pubkey])
        # Trimming found each trimmed event's author from its stored form: no author index
        # keeps an entry whose event is gone (that would grow without bound).
        authors = {e.pubkey for e in notes}
        entries = sum([int(await store.redis.execute_command("ZCARD", keys.author_key(pubkey)))
                       for pubkey in authors])
        self.assertEqual(entries, cap)


class RecallTests(unittest.TestCase):
    @async_test
    async def test_memory_tells_held_perhaps_held_and_unknown_without_redis(self):
        service = await start_test_service(self, timeline_events=2)
        store = service.store
        older, newer, newest = [make_event(1, created_at=100 + n, content=f"{n}") for n in range(3)]
        for event in (older, newer, newest):
            await store.add(event)
        stranger = make_event(2, content="never stored")
        held, perhaps = store.recall([older.id, newer.id, newest.id, stranger.id])
        # The window (2 events) holds the newest two; the filter remembers the third.
        self.assertEqual(held, {newer.id, newest.id})
        self.assertEqual(perhaps, [older.id])


class EncodingTests(unittest.TestCase):
    def test_stored_form_drops_the_id_and_gives_the_packed_event_back(self):
        event = make_event(3)
        packed = pack_event(event)
        stored = stored_form(packed)
        self.assertEqual(len(stored), len(packed) - 35)
        self.assertEqual(packed_form(event.id, stored), packed)
        self.assertEqual(packed_form(event.id, packed), packed)  # written whole by an older version


class UpgradeTests(unittest.TestCase):
    @async_test
    async def test_a_store_in_the_older_layout_is_read_and_trimmed_correctly(self):
        # The older layout: whole packed events, every event in np:time, the trimmable ones
        # again in np:trim with their pubkey, the current profile only in np:time.
        service = await start_test_service(self)
        redis = service.client
        profile = make_event(1, created_at=10, kind=0, content="current")
        notes = [make_event(2, created_at=20 + n, content=f"old {n}") for n in range(5)]
        for event in [profile] + notes:
            okey = await write_older_event(redis, event)
            await redis.execute_command("ZADD", keys.TIME, 0, okey)
            if event is profile:
                await redis.hset(keys.CURRENT[0], event.pubkey, okey)
            else:
                await redis.execute_command("ZADD", keys.OLD_TRIMMABLE, 0, okey + event.pubkey)
        await redis.execute_command("DEL", keys.SCHEMA)  # older versions wrote no layout version
        store = RedisEventStore(redis, max_events=4)
        await store.warm()
        self.assertEqual(await redis.execute_command("EXISTS", keys.OLD_TRIMMABLE), 0)
        self.assertEqual(await store.get([notes[0].id]), [notes[0]])
        newer = [make_event(3, created_at=100 + n, content=f"new {n}") for n in range(3)]
        for event in newer:
            await store.add(event)
        self.assertEqual(await store.count(), 4)
        self.assertEqual(await store.current_profile(profile.pubkey), profile)
        self.assertEqual(await store.query(Filter()), newest_first(newer + [profile]))
        self.assertEqual(await redis.execute_command("ZCARD", keys.author_key(notes[0].pubkey)), 0)

    @async_test
    async def test_a_store_with_40_byte_order_keys_is_converted_and_answers_as_before(self):
        service = await start_test_service(self)
        redis = service.client
        unprotected_profile = make_event(1, created_at=10, kind=0, content="someone")
        notes = [make_event(2, created_at=20 + n, content=f"old {n}") for n in range(5)]
        notes.append(make_event(2, created_at=2**33, content="dated after 2106"))
        for event in [unprotected_profile] + notes:
            okey = await write_older_event(redis, event)
            if event is unprotected_profile:
                await redis.execute_command("ZADD", keys.KEPT, 0, okey)
                await redis.execute_command("ZADD", keys.UNPROTECTED, 7, okey)
                await redis.hset(keys.CURRENT[0], event.pubkey, okey)
            else:
                await redis.execute_command("ZADD", keys.TIME, 0, okey)
        await redis.execute_command("DEL", keys.SCHEMA)  # older versions wrote no layout version
        # An earlier start was killed while converting: its scratch copy is still there.
        await redis.execute_command("ZADD", upgrade.SCRATCH, 0, b"x" * 40)

        store = RedisEventStore(redis, max_events=5, timeline=RecentWindow(2, 1 << 20))
        await store.warm()
        indexes = [keys.TIME, keys.KEPT, keys.UNPROTECTED, keys.author_key(notes[0].pubkey)]
        for index in indexes:
            members = await redis.execute_command("ZRANGE", index, 0, -1)
            self.assertTrue(members)
            self.assertEqual({len(m) for m in members}, {keys.ORDER_KEY_BYTES}, index)
        self.assertEqual(await redis.execute_command("EXISTS", upgrade.SCRATCH), 0)
        self.assertEqual(await redis.execute_command("ZSCORE", keys.UNPROTECTED, keys.order_key(
            unprotected_profile.created_at, unprotected_profile.id)), b"7")
        self.assertEqual(await store.current_profile(unprotected_profile.pubkey), unprotected_profile)
        # Older than the window of 2: these come from the converted indexes in Redis.
        self.assertEqual(await store.query(Filter(until=22)), newest_first(notes[:3] + [unprotected_profile]))
        self.assertEqual(await store.query(Filter(authors=frozenset({notes[0].pubkey}), since=21, until=23)),
                         newest_first(notes[1:4]))
        self.assertEqual(await store.query(Filter(authors=frozenset({notes[0].pubkey}),
                                                  since=2**32 + 5)), [notes[-1]])
        # Trimming goes by the converted keys: the unprotected profile first, then the oldest
        # (7 held, a cap of 5).
        newer = make_event(3, created_at=100)
        await store.add(newer)
        self.assertEqual(await store.count(), 5)
        self.assertEqual(await store.current_profile(unprotected_profile.pubkey), None)
        self.assertEqual(await store.get([n.id for n in notes]), notes[2:])

    @async_test
    async def test_the_conversion_runs_once(self):
        service = await start_test_service(self)
        redis = service.client
        store = RedisEventStore(redis)
        await store.warm()
        self.assertEqual(await redis.execute_command("GET", keys.SCHEMA), keys.SCHEMA_VERSION)
        # A 40-byte entry written now would be a bug elsewhere; a second start leaves it alone.
        await redis.execute_command("ZADD", keys.TIME, 0, b"y" * 40)
        await RedisEventStore(redis).warm()
        self.assertEqual(await redis.execute_command("ZRANGE", keys.TIME, 0, -1), [b"y" * 40])


class QueryTests(unittest.TestCase):
    """Every answer equals a brute-force NIP-01 evaluation over everything stored."""

    async def _compare_with_brute_force(self, timeline_events):
        service = await start_test_service(self, timeline_events=timeline_events)
        store = service.store
        rng = random.Random(4)
        events = []
        for n in range(240):
            tags = []
            if events and rng.random() < 0.4:
                tags.append(("e", rng.choice(events).id.hex()))
            if rng.random() < 0.4:
                tags.append(("p", make_event(rng.randrange(4)).pubkey.hex()))
            event = make_event(rng.randrange(4), created_at=1000 + rng.randrange(60),
                               kind=rng.choice([0, 1, 1, 1, 3, 6, 7]), tags=tags, content=f"{n}")
            events.append(event)
            self.assertTrue(await store.add(event))
        pubkeys = sorted({e.pubkey for e in events})
        for _ in range(150):
            kwargs = {}
            if rng.random() < 0.15:
                kwargs["ids"] = frozenset(rng.choice(events).id for _ in range(rng.randrange(1, 6)))
            if rng.random() < 0.4:
                kwargs["authors"] = frozenset(rng.sample(pubkeys, rng.randrange(1, 3)))
            elif rng.random() < 0.2:
                # A follow list's worth: more authors than are walked one index each.
                strangers = [rng.randbytes(32) for _ in range(limits.AUTHOR_INDEX_MAX)]
                kwargs["authors"] = frozenset(rng.sample(pubkeys, 2) + strangers)
            if rng.random() < 0.4:
                kwargs["kinds"] = frozenset(rng.sample([0, 1, 3, 6, 7], rng.randrange(1, 3)))
            if rng.random() < 0.2:
                kwargs["tags"] = (("e", frozenset(rng.choice(events).id.hex() for _ in range(3))),)
            elif rng.random() < 0.2:
                kwargs["tags"] = (("p", frozenset([rng.choice(pubkeys).hex()])),)
            if rng.random() < 0.5:
                kwargs["since"] = 1000 + rng.randrange(60)
            if rng.random() < 0.5:
                kwargs["until"] = 1000 + rng.randrange(60)
            if rng.random() < 0.6:
                kwargs["limit"] = rng.randrange(0, 40)
            event_filter = Filter(**kwargs)
            expected = [e for e in newest_first(events) if event_filter.matches(e)]
            limit = min(event_filter.limit if event_filter.limit is not None else 10**9,
                        limits.MAX_ANSWER_EVENTS)
            self.assertEqual(await store.query(event_filter), expected[:limit], event_filter)
        return store

    @async_test
    async def test_answers_from_redis(self):
        store = await self._compare_with_brute_force(timeline_events=1)
        self.assertGreater(store.counters["timeline_misses"], 0)

    @async_test
    async def test_answers_from_the_window_and_redis(self):
        store = await self._compare_with_brute_force(timeline_events=100)
        self.assertGreater(store.counters["timeline_hits"], 0)
        self.assertGreater(store.counters["timeline_misses"], 0)

    @async_test
    async def test_answer_is_capped(self):
        store = await start_test_store(self)
        for n in range(limits.MAX_ANSWER_EVENTS + 5):
            await store.add(make_event(n % 8, created_at=n, content="x"))
        self.assertEqual(len(await store.query(Filter())), limits.MAX_ANSWER_EVENTS)
        self.assertEqual(len(await store.query(Filter(limit=10**6))), limits.MAX_ANSWER_EVENTS)

    @async_test
    async def test_last_three_days(self):
        store = await start_test_store(self)
        now = 1_700_000_000
        recent = [make_event(n % 3, created_at=now - n * 3600 * 10, content=f"{n}") for n in range(12)]
        for event in recent:
            await store.add(event)
        since = now - 3 * 86400
        self.assertEqual(await store.query(Filter(since=since)),
                         [e for e in newest_first(recent) if e.created_at >= since])


class RefreshedTests(unittest.TestCase):
    @async_test
    async def test_stamps_per_author_and_kind(self):
        store = await start_test_store(self)
        alice, bob = make_event(0).pubkey, make_event(1).pubkey
        self.assertIsNone(await store.last_refreshed(alice, "profile"))
        await store.mark_refreshed(alice, "profile", 1234.5)
        self.assertEqual(await store.last_refreshed(alice, "profile"), 1234.5)
        self.assertIsNone(await store.last_refreshed(alice, "follows"))
        self.assertIsNone(await store.last_refreshed(bob, "profile"))
        await store.mark_refreshed(alice, "profile", 2000)
        self.assertEqual(await store.last_refreshed(alice, "profile"), 2000.0)

    @async_test
    async def test_unknown_what_is_refused(self):
        store = await start_test_store(self)
        with self.assertRaises(StoreError):
            await store.mark_refreshed(b"\x01" * 32, "posts", 1.0)


class ResendQueueTests(unittest.TestCase):
    @async_test
    async def test_due_items_by_time(self):
        store = await start_test_store(self)
        first = await store.enqueue_resend(b"\x01" * 32, b"payload one", 100.0)
        second = await store.enqueue_resend(b"\x02" * 32, b"\x00binary\xff", 200.0)
        self.assertNotEqual(first, second)
        self.assertEqual(await store.due_resends(50.0, 10), [])
        [item] = await store.due_resends(150.0, 10)
        self.assertEqual((item.item_id, item.destination, item.payload, item.attempts, item.due),
                         (first, b"\x01" * 32, b"payload one", 0, 100.0))
        self.assertEqual([i.item_id for i in await store.due_resends(250.0, 10)], [first, second])
        self.assertEqual(len(await store.due_resends(250.0, 1)), 1)

    @async_test
    async def test_reschedule_counts_attempts_and_remove_forgets(self):
        store = await start_test_store(self)
        item_id = await store.enqueue_resend(b"\x01" * 32, b"p", 100.0)
        self.assertEqual(await store.resend_count(), 1)
        await store.reschedule_resend(item_id, 300.0)
        self.assertEqual(await store.due_resends(200.0, 10), [])
        [item] = await store.due_resends(300.0, 10)
        self.assertEqual((item.attempts, item.due), (1, 300.0))
        await store.remove_resend(item_id)
        self.assertEqual(await store.due_resends(10**9, 10), [])
        self.assertEqual(await store.resend_count(), 0)
        await store.reschedule_resend(item_id, 400.0)  # gone: nothing comes back
        self.assertEqual(await store.due_resends(10**9, 10), [])

    @async_test
    async def test_dropped_after_the_last_attempt(self):
        store = await start_test_store(self)
        item_id = await store.enqueue_resend(b"\x01" * 32, b"p", 1.0)
        for attempt in range(limits.MAX_RESEND_ATTEMPTS - 1):
            await store.reschedule_resend(item_id, 1.0)
        [item] = await store.due_resends(1.0, 10)
        self.assertEqual(item.attempts, limits.MAX_RESEND_ATTEMPTS - 1)
        await store.reschedule_resend(item_id, 1.0)
        self.assertEqual(await store.due_resends(1.0, 10), [])

    @async_test
    async def test_oversized_payload_is_refused(self):
        store = await start_test_store(self)
        with self.assertRaises(StoreError):
            await store.enqueue_resend(b"\x01" * 32, b"x" * (limits.MAX_RESEND_PAYLOAD_BYTES + 1), 1.0)


class MemoryAnswerTests(unittest.TestCase):
    @async_test
    async def test_answers_from_the_window_or_says_it_cannot(self):
        # What the REST API answers while Redis is down or late (docs/API.md).
        store = await start_test_store(self)
        posts = [make_event(n % 3, created_at=1_700_000_000 + n, content=str(n)) for n in range(5)]
        await store.add_all(posts)
        await store.redis.execute_command("FLUSHALL")  # no Redis read could answer now
        self.assertEqual(store.answer_from_memory(Filter(kinds=frozenset({1}), limit=3)),
                         newest_first(posts)[:3])
        self.assertEqual(store.answer_from_memory(Filter(ids=frozenset({posts[1].id}))), [posts[1]])
        unknown = make_event(7).id
        self.assertIsNone(store.answer_from_memory(Filter(ids=frozenset({posts[1].id, unknown}))))
