"""The REST API while its redis-server is stopped for real (SIGSTOP), under publish load.

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

from nostrp2p.store.testing import start_test_service

from .helpers import async_test, post, start_api

STOPPED_SECONDS = 10.0
ANSWER_WITHIN_SECONDS = 2.0  # the promise of docs/API.md
PUBLISH_EVERY_SECONDS = 0.1
RETRY_AFTER_SECONDS = 0.5


class RedisStoppedTests(unittest.TestCase):
    timeout = 90

    @async_test
    async def test_publishes_answered_in_time_and_none_acknowledged_is_lost(self):
        service = await start_test_service(self)
        api = await start_api(self, store=service.store)
        pid = service.embedded.pid
        self.addCleanup(lambda: _signal(pid, signal.SIGCONT))
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

        stop_at = reactor.seconds() + 1.0
        resume_at = stop_at + STOPPED_SECONDS
        reactor.callLater(1.0, _signal, pid, signal.SIGSTOP)
        reactor.callLater(1.0 + STOPPED_SECONDS, _signal, pid, signal.SIGCONT)
        clients = []
        n = 0
        while reactor.seconds() < resume_at + 1.0:
            clients.append(Deferred.fromCoroutine(publish_until_stored(post(1_700_000_000 + n))))
            if n % 10 == 0:
                clients.append(Deferred.fromCoroutine(read_timeline()))
            n += 1
            await deferLater(reactor, PUBLISH_EVERY_SECONDS, lambda: None)
        await gatherResults(clients, consumeErrors=True)

        slow = [(code, round(took, 2)) for code, took in answers + reads
                if took >= ANSWER_WITHIN_SECONDS]
        self.assertEqual(slow, [])
        statuses = Counter(code for code, _ in answers)
        self.assertGreater(statuses[503], 10, statuses)  # the outage was felt
        self.assertEqual(set(statuses), {200, 503})
        # A read during the outage is answered from memory (the timeline is in the window).
        self.assertEqual({code for code, _ in reads}, {200})
        # Everything acknowledged is stored, every event was acknowledged in the end, and the
        # node heard of each exactly once.
        published = [post(1_700_000_000 + i) for i in range(n)]
        self.assertEqual(len(acknowledged), n)
        held = await service.store.get([e.id for e in published])
        self.assertEqual({e.id for e in held}, {e.id for e in published})
        delivered = Counter(e.id for e in api.node.published_events)
        self.assertEqual(set(delivered.values()), {1})
        self.assertEqual(len(delivered), n)


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
