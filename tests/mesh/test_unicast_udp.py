"""Unicast and requests between MeshServices on 127.0.0.1 UDP in one reactor."""

import os
import random

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits
from nostrp2p.mesh.errors import RemoteError, Unreachable
from nostrp2p.mesh.service import MeshService
from tests.mesh.test_service_udp import wait_for


class UnicastOverUdpTests(TestCase):
    timeout = 60

    def setUp(self):
        self.directory = self.mktemp()
        os.makedirs(self.directory)

    def _service(self, index, bootstrap=()):
        key_path = os.path.join(self.directory, f"overlay-{index}.key")
        service = MeshService(("127.0.0.1", 0), key_path, bytes([index]) * 32, bootstrap, reactor)
        service.startService()
        self.addCleanup(lambda: service.running and service.stopService())
        return service

    @defer.inlineCallbacks
    def _four(self):
        first = self._service(1)
        services = [first] + [self._service(i, [first.address]) for i in range(2, 5)]
        yield wait_for(lambda: all(s.peers() for s in services), "every server to have a neighbour")
        return services

    @defer.inlineCallbacks
    def test_multi_fragment_message_and_request_reply(self):
        services = yield self._four()
        received = []
        services[3].on_message(lambda payload, origin: received.append((payload, origin)))
        services[3].on_request(lambda payload, origin: defer.succeed(b"answer to " + payload))
        payload = random.Random(1).randbytes(limits.FRAGMENT_SIZE * 12 + 17)
        yield services[1].send(bytes([4]) * 32, payload)
        self.assertEqual(received, [(payload, bytes([2]) * 32)])
        reply = yield services[2].request(bytes([4]) * 32, b"question")
        self.assertEqual(reply, b"answer to question")

    @defer.inlineCallbacks
    def test_a_failing_answerer_fails_the_request_promptly(self):
        services = yield self._four()

        def broken(payload, origin):
            raise ValueError("cannot answer that")

        services[0].on_request(broken)
        started = reactor.seconds()
        with self.assertRaises(RemoteError):
            yield services[3].request(bytes([1]) * 32, b"question")
        self.assertLess(reactor.seconds() - started, limits.REQUEST_TIMEOUT / 2)
        self.flushLoggedErrors(ValueError)

    @defer.inlineCallbacks
    def test_stopping_fails_what_is_pending(self):
        services = yield self._four()
        services[3].on_request(lambda payload, origin: defer.Deferred())  # never answers
        pending = services[1].request(bytes([4]) * 32, b"are you there")
        yield services[1].stopService()
        with self.assertRaises(Unreachable):
            yield pending
