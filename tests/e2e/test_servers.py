"""Five real servers on loopback, each its own process with its own Redis, driven only through
REST as the mobile client drives its own server.

The bootstrap is a deny-write server like a public bootstrap of the first NostrP2P: every other
server joins through it, it refuses its clients' writes, and it still carries everyone's traffic.
"""

from __future__ import annotations

import time
from pathlib import Path

from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import TestCase

from nostrp2p.nostr import KeyPair, sign_event

from .cluster import Server, poll_until

DELIVERY_TIMEOUT = 60.0
# Of each server's log when a delivery fails: every server's, since the fault may be the sender's.
LOG_TAIL_CHARS = 6000
FAST_RESEND = ("--resend-base-seconds", "1", "--resend-check-seconds", "1")


def _now() -> int:
    return int(time.time())


def post(keys, content, tags=(), kind=1, created_at=None):
    return sign_event(keys.secret, created_at or _now(), kind, [list(t) for t in tags], content)


class Cluster:
    def __init__(self, testcase: TestCase):
        self.testcase = testcase
        self.servers: dict[str, Server] = {}

    def add(self, name, *extra_args) -> Server:
        server = Server(name, KeyPair.generate(), Path(self.testcase.mktemp()).resolve(),
                        extra_args=tuple(extra_args))
        self.servers[name] = server
        self.testcase.addCleanup(self._stop, server)
        return server

    async def start(self, name, bootstrap=()) -> Server:
        server = self.servers[name]
        try:
            await server.start(reactor, [self.servers[b] for b in bootstrap])
        except AssertionError:
            await server.stop(reactor)
            raise AssertionError(f"{name} did not start:\n{server.log_text()}")
        return server

    def _stop(self, server):
        return ensureDeferred(server.stop(reactor))

    async def wait_holds(self, server: Server, event_filter: dict, event_id: bytes, why: str):
        async def holds():
            return any(e.id == event_id for e in await server.req(event_filter))
        try:
            await poll_until(reactor, holds, DELIVERY_TIMEOUT, why)
        except AssertionError:
            logs = "".join(f"\n--- {s.name} log ---\n{s.log_text()[-LOG_TAIL_CHARS:]}"
                           for s in self.servers.values())
            raise AssertionError(f"{why} (on {server.name}){logs}")

    async def wait_in_timeline(self, server: Server, event_id: bytes, why: str):
        await self.wait_holds(server, {"kinds": [40000], "since": -1, "until": -1, "limit": 300},
                              event_id, why)


class FiveServersTests(TestCase):
    timeout = 300

    async def _five(self) -> Cluster:
        cluster = Cluster(self)
        cluster.add("boot", "--deny-write")
        for name in "abcd":
            cluster.add(name)
        await cluster.start("boot")
        for name in "abcd":
            await cluster.start(name, bootstrap=["boot"])
        return cluster

    def test_posts_replies_reactions_profiles_and_writes(self):
        return ensureDeferred(self._posts_replies_reactions_profiles_and_writes())

    async def _posts_replies_reactions_profiles_and_writes(self):
        cluster = await self._five()
        s = cluster.servers
        a, b = s["a"], s["b"]

        # A post on A appears in every timeline, the bootstrap's included.
        hello = post(a.keys, "hello from a")
        self.assertEqual(await a.publish(hello), (200, {"Status": "SUCCESS"}))
        for server in s.values():
            await cluster.wait_in_timeline(server, hello.id, f"A's post never reached {server.name}")

        # A long post (it travels the overlay in parts) arrives whole.
        long_post = post(a.keys, "a long thought. " * 400)
        self.assertEqual((await a.publish(long_post))[0], 200)
        await cluster.wait_in_timeline(s["d"], long_post.id, "A's long post never reached D")

        # A reply from B to A's post reaches A, and only A.
        reply = post(b.keys, "a reply to a", tags=[("e", hello.id.hex()), ("p", a.keys.public.hex())])
        self.assertEqual((await b.publish(reply))[0], 200)
        await cluster.wait_in_timeline(a, reply.id, "B's reply never reached A")
        # A reaction reaches the author it reacts to.
        reaction = post(s["c"].keys, "+", kind=7,
                        tags=[("e", hello.id.hex()), ("p", a.keys.public.hex())])
        self.assertEqual((await s["c"].publish(reaction))[0], 200)
        await cluster.wait_holds(a, {"kinds": [7], "ids": [reaction.id.hex()]}, reaction.id,
                                 "C's reaction never reached A")
        # A post made after them reaches everyone: had the reply or the reaction been broadcast,
        # they would be there by now too.
        marker = post(b.keys, "a later post")
        self.assertEqual((await b.publish(marker))[0], 200)
        for server in s.values():
            await cluster.wait_in_timeline(server, marker.id, f"B's post never reached {server.name}")
        for name in ("c", "d", "boot"):
            ids = {e.id for e in await s[name].timeline()}
            self.assertNotIn(reply.id, ids, f"the reply to A leaked to {name}")
        for name in ("b", "d", "boot"):
            held = await s[name].req({"kinds": [7], "ids": [reaction.id.hex()]})
            self.assertEqual(held, [], f"the reaction to A leaked to {name}")

        # A follow list is stored by its owner only; another server fetches it when asked.
        follows = post(a.keys, "", kind=3, tags=[("p", b.keys.public.hex())])
        self.assertEqual((await a.publish(follows))[0], 200)
        await cluster.wait_holds(
            s["d"], {"kinds": [3], "authors": [a.keys.public.hex()]}, follows.id,
            "D never fetched A's follow list on demand")

        # Writes: the server is its owner's, and a deny-write bootstrap refuses everyone's.
        forged_owner = post(b.keys, "not a's server")
        status, body = await a.publish(forged_owner)
        self.assertEqual(status, 403, body)
        status, body = await s["boot"].publish(post(s["boot"].keys, "the bootstrap's own"))
        self.assertEqual(status, 403, body)


class ComingBackTests(TestCase):
    timeout = 300

    def test_stopped_server_gets_its_mention_and_late_joiner_catches_up(self):
        return ensureDeferred(self._coming_back())

    async def _coming_back(self):
        cluster = Cluster(self)
        cluster.add("boot", "--deny-write", *FAST_RESEND)
        cluster.add("a", *FAST_RESEND)
        cluster.add("b", *FAST_RESEND)
        late = cluster.add("late", *FAST_RESEND)
        await cluster.start("boot")
        a = await cluster.start("a", bootstrap=["boot"])
        b = await cluster.start("b", bootstrap=["boot"])

        warmup = post(a.keys, "warm-up")
        self.assertEqual((await a.publish(warmup))[0], 200)
        await cluster.wait_in_timeline(b, warmup.id, "A's post never reached B")

        # B is away while A mentions it; it gets the mention once it is back.
        await b.stop(reactor)
        mention = post(a.keys, "are you there, b?", tags=[("p", b.keys.public.hex())])
        self.assertEqual((await a.publish(mention))[0], 200)
        b = await cluster.start("b", bootstrap=["boot"])
        await cluster.wait_in_timeline(b, mention.id, "B never got the mention made while away")

        # A server that joins late gathers what was said in the last three days.
        two_days_ago = post(a.keys, "from two days ago", created_at=_now() - 2 * 24 * 3600)
        self.assertEqual((await a.publish(two_days_ago))[0], 200)
        await cluster.wait_in_timeline(b, two_days_ago.id, "A's post never reached B")
        await cluster.start("late", bootstrap=["boot"])
        for event in (warmup, two_days_ago):
            await cluster.wait_in_timeline(late, event.id, "the late joiner did not catch up")

    # A profile last changed long ago (beyond the three days shared on joining, and published
    # before its server last restarted, so no overlay buffer still holds it) is fetched from its
    # author's server when a client asks for it.
    def test_old_profile_is_fetched_on_demand(self):
        return ensureDeferred(self._old_profile())

    async def _old_profile(self):
        cluster = Cluster(self)
        cluster.add("boot", "--deny-write")
        cluster.add("a")
        cluster.add("late")
        a = await cluster.start("a")
        profile = post(a.keys, '{"name":"a"}', kind=0, created_at=_now() - 10 * 24 * 3600)
        self.assertEqual((await a.publish(profile))[0], 200)
        await a.stop(reactor)
        await cluster.start("boot")
        a = await cluster.start("a", bootstrap=["boot"])
        late = await cluster.start("late", bootstrap=["boot"])
        await cluster.wait_holds(late, {"kinds": [0], "authors": [a.keys.public.hex()]},
                                 profile.id, "the late server never fetched A's profile")
