"""Every Lua script touches only the keys it is given in KEYS.

Redis cannot check that by itself outside a cluster, so each script call here runs as an ACL
user allowed exactly the keys the call names: a script that reaches for any other key fails
with NOPERM. (With ACLs or Redis Cluster, a script touching undeclared keys is unsafe.)
"""

import txredisapi
from twisted.internet.defer import DeferredLock
from twisted.trial import unittest

from nostrp2p.nostr import Filter
from nostrp2p.store import RedisEventStore, keys
from nostrp2p.store.testing import start_test_service

from .events import make_event
from .test_eviction import fresh_profiles
from .test_redis_store import async_test, write_older_event

USER, PASSWORD = "scripts", "only-the-named-keys"


def exactly(key: bytes) -> bytes:
    """An ACL key pattern matching ``key`` (glob characters escaped). Redis refuses whitespace
    and NUL in a rule, so such a byte (in a binary pubkey) matches any one byte instead."""
    def one(c: int) -> bytes:
        if c == 0 or bytes([c]).isspace():
            return b"?"
        return b"\\" + bytes([c]) if c in b"*?[]\\" else bytes([c])
    return b"~" + b"".join(one(c) for c in key)


class OnlyNamedKeys:
    """A Redis client whose scripts run one at a time, each as a user allowed only its KEYS."""

    def __init__(self, admin, restricted):
        self.admin = admin
        self.restricted = restricted
        self.lock = DeferredLock()
        self.calls = 0

    def eval(self, script, keys=(), args=()):
        return self.lock.run(self._eval, script, list(keys), list(args))

    async def _eval(self, script, keys, args):
        await self.admin.execute_command("ACL", "SETUSER", USER, "resetkeys",
                                         *[exactly(k) for k in keys])
        self.calls += 1
        return await self.restricted.eval(script, keys=keys, args=args)

    def __getattr__(self, name):  # plain commands name their keys themselves
        return getattr(self.admin, name)


class ScriptKeysTests(unittest.TestCase):
    timeout = 60

    async def store(self, max_events):
        service = await start_test_service(self, max_events=max_events)
        admin = service.client
        await admin.execute_command("ACL", "SETUSER", USER, "on", ">" + PASSWORD, "+@all")
        restricted = await txredisapi.UnixConnection(
            service.embedded.socket_path, reconnect=False, charset=None, convertNumbers=False,
            username=USER, password=PASSWORD)
        self.addCleanup(restricted.disconnect)
        client = OnlyNamedKeys(admin, restricted)
        return RedisEventStore(client, max_events, clock=service.reactor), client

    @async_test
    async def test_every_script_touches_only_the_keys_it_names(self):
        store, client = await self.store(max_events=40)
        # A store of the layout before 2, for UPGRADE_INDEX and UPGRADE_POINTERS.
        older = make_event(5, created_at=1_600_000_000, kind=0)
        okey = await write_older_event(client.admin, older)
        await client.admin.execute_command("ZADD", keys.KEPT, 0, okey)
        await client.admin.hset(keys.CURRENT[0], older.pubkey, okey)
        await client.admin.execute_command("DEL", keys.SCHEMA)
        await store.warm()  # UPGRADE_SCHEMA, the conversion, READ_PAGE with the kept index
        self.assertEqual(await store.current_profile(older.pubkey), older)
        owner = make_event(0).pubkey
        await store.protect_owner(owner)  # PROTECT, follows
        await store.add(make_event(0, kind=3, tags=[("p", make_event(1).pubkey.hex())]))
        await store.add(make_event(0, tags=[("p", make_event(2).pubkey.hex())]))  # talks
        store.max_unprotected = 5
        # ADD_EVENTS with trimming of the oldest events and of unprotected profiles.
        await store.add_all([make_event(n % 8, created_at=1_700_000_000 + n, content=str(n))
                             for n in range(60)])
        await store.add_all(fresh_profiles(20))
        self.assertLessEqual(await store.count(), 40)
        # READ_PAGE on an author index and on the time index, READ_EVENTS.
        self.assertTrue(await store.query(Filter(authors=frozenset({owner}))))
        self.assertTrue(await store.query(Filter(kinds=frozenset({1}), until=1_700_000_050)))
        newest = await store.query(Filter(limit=1))
        self.assertEqual(await store.get([newest[0].id]), newest)
        await store.mark_refreshed(owner, "profile", 1.0)  # MARK_REFRESHED
        item = await store.enqueue_resend(owner, b"payload", 1.0)  # ENQUEUE_RESEND
        await store.reschedule_resend(item, 2.0)  # RESCHEDULE_RESEND
        await store.remove_resend(item)  # REMOVE_RESEND
        self.assertGreater(client.calls, 10)

    @async_test
    async def test_a_script_reaching_for_an_unnamed_key_is_refused(self):
        # The check itself can fail: otherwise the test above proves nothing.
        store, client = await self.store(max_events=40)
        with self.assertRaises(txredisapi.ResponseError) as caught:
            await client.eval(b"return redis.call('GET', 'np:other')", keys=[keys.EVENTS])
        self.assertIn("can't access", str(caught.exception))
