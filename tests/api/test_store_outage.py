"""The REST API while its redis-server is stopped (SIGSTOP) or killed, under publish load.

Every /publish is answered within 2 s, 200 or 503; a client that retries its 503s gets every
event stored; none acknowledged is lost; each is delivered exactly once; recovery needs no one.
"""

import os
import signal
from collections import Counter

from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import deferLater
from twisted.trial import unittest

from nostrp2p.store import limits
from nostrp2p.store.testing import start_test_service

from .helpers import async_test, post, start_api

STOPPED_SECONDS = 10.0
ANSWER_WITHIN_SECONDS = 2.0  # the promise of docs/API.md
PUBLISH_EVERY_SECONDS = 0.1
RETRY_AFTER_SECONDS = 0.5


class RedisOutageTests(unittest.TestCase):
    timeout = 90

    async def publish_through(self, service, outage_seconds, outage):
        """Publish an event every 100 ms from 1 s before ``outage`` (called at 1 s) to 1 s
        after the outage; a client retries each 503 after 0.5 s until it is acknowledged.
        Checks every answer came in time, and returns the answers' statuses and reads'."""
        api = await start_api(self, store=service.store)
        answers = []  # (status, seconds it took)
        acknowledged = []
        reads = []

        async def publish_until_stored(event):
            while True:
                started = reactor.seconds()
                response = await api.publish(event)
                answers.append((response.code, reactor.seconds() - started))
                if response.code == 200:
                    acknowledged.append(event)
                    return
                self.assertEqual(response.code, 503)
                self.assertEqual((await response.json())["Field"], "store")
                await deferLater(reactor, RETRY_AFTER_SECONDS, lambda: None)

        async def read_timeline():
            started = reactor.seconds()
            response = await api.req({"kinds": [1], "limit": 50})
            reads.append((response.code, reactor.seconds() - started))

        end_at = reactor.seconds() + 1.0 + outage_seconds + 1.0
        reactor.callLater(1.0, outage)
        clients = []
        n = 0
        while reactor.seconds() < end_at:
            clients.append(Deferred.fromCoroutine(publish_until_stored(post(1_700_000_000 + n))))
            if n % 10 == 0:
                clients.append(Deferred.fromCoroutine(read_timeline()))
            n += 1
            await deferLater(reactor, PUBLISH_EVERY_SECONDS, lambda: None)
        await gatherResults(clients, consumeErrors=True)

        slow = [(code, round(took, 2)) for code, took in answers + reads
                if took >= ANSWER_WITHIN_SECONDS]
        self.assertEqual(slow, [])
        # Everything acknowledged is stored, every event was acknowledged in the end, and the
        # node heard of each exactly once.
        published = [post(1_700_000_000 + i) for i in range(n)]
        self.assertEqual(len(acknowledged), n)
        held = await service.store.get([e.id for e in published])
        self.assertEqual({e.id for e in held}, {e.id for e in published})
        delivered = Counter(e.id for e in api.node.published_events)
        self.assertEqual(set(delivered.values()), {1})
        self.assertEqual(len(delivered), n)
        return Counter(code for code, _ in answers), {code for code, _ in reads}

    @async_test
    async def test_redis_stopped_for_ten_seconds(self):
        service = await start_test_service(self)
        pid = service.embedded.pid
        self.addCleanup(lambda: _signal(pid, signal.SIGCONT))

        def outage():
            _signal(pid, signal.SIGSTOP)
            reactor.callLater(STOPPED_SECONDS, _signal, pid, signal.SIGCONT)

        statuses, reads = await self.publish_through(service, STOPPED_SECONDS, outage)
        self.assertGreater(statuses[503], 10, statuses)  # the outage was felt
        self.assertEqual(set(statuses), {200, 503})
        # A read during the outage is answered from memory (the timeline is in the window).
        self.assertEqual(reads, {200})

    @async_test
    async def test_redis_stopped_then_killed_and_restarted(self):
        # Writes pile up in the stopped server, then the kill fails them all without telling
        # whether they were applied: the retries must still store and deliver each event
        # once. Acknowledged events survive the kill: the AOF is fsynced before each reply.
        service = await start_test_service(self, fsync="always")
        pid = service.embedded.pid
        self.addCleanup(lambda: _signal(pid, signal.SIGKILL))

        def outage():
            _signal(pid, signal.SIGSTOP)
            reactor.callLater(3.0, _signal, pid, signal.SIGKILL)

        statuses, _ = await self.publish_through(service, 3.0, outage)
        self.assertNotEqual(service.embedded.pid, pid)  # restarted by its supervisor
        self.assertGreater(statuses[503], 10, statuses)
        self.assertEqual(set(statuses), {200, 503})


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


class RedisFullTests(unittest.TestCase):
    @async_test
    async def test_at_maxmemory_writes_are_refused_with_503_and_nothing_is_dropped(self):
        service = await start_test_service(self)
        redis = service.client
        policy = await redis.execute_command("CONFIG", "GET", "maxmemory*")
        settings = dict(zip(policy[::2], policy[1::2]))
        self.assertEqual(settings[b"maxmemory-policy"], b"noeviction")
        self.assertEqual(int(settings[b"maxmemory"]), limits.REDIS_MAXMEMORY_BYTES)
        api = await start_api(self, store=service.store)
        first = post(1_700_000_000)
        self.assertEqual((await api.publish(first)).code, 200)
        await service.store.enqueue_resend(b"\x01" * 32, b"a reply to deliver", 1.0)
        await redis.execute_command("CONFIG", "SET", "maxmemory", "1")  # full from now on
        refused = await api.publish(post(1_700_000_001))
        self.assertEqual(refused.code, 503)
        self.assertEqual((await refused.json())["Field"], "store")
        # Reads go on, and Redis dropped nothing to make room.
        self.assertEqual((await api.req({"ids": [first.id.hex()]})).code, 200)
        self.assertEqual(len(await service.store.due_resends(2.0, 10)), 1)
        self.assertEqual(await service.store.get([first.id]), [first])
        await redis.execute_command("CONFIG", "SET", "maxmemory",
                                    str(limits.REDIS_MAXMEMORY_BYTES))
        self.assertEqual((await api.publish(post(1_700_000_001))).code, 200)
