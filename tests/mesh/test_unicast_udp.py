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
        services[3].on_message(lambda payload, origin, via: received.append((payload, origin)))
        services[3].on_request(lambda payload, origin, via: defer.succeed(b"answer to " + payload))
        payload = random.Random(1).randbytes(limits.FRAGMENT_SIZE * 12 + 17)
        yield services[1].send(bytes([4]) * 32, payload)
        self.assertEqual(received, [(payload, bytes([2]) * 32)])
        reply = yield services[2].request(bytes([4]) * 32, b"question")
        self.assertEqual(reply, b"answer to question")

    @defer.inlineCallbacks
    def test_a_message_to_a_server_still_starting_waits_until_it_is_taken(self):
        # A restarted server's overlay is up before its node (whose store is still starting)
        # listens for messages: a mention sent then must not be acknowledged and lost.
        services = yield self._four()
        sent = services[1].send(bytes([4]) * 32, b"are you there?")
        yield wait_for(lambda: sent.called or
                       services[3].stats().get("drop_unicast_not_taken", 0) >= 2,
                       "the message and a retransmission to reach the starting server")
        self.assertFalse(sent.called, "acknowledged before anyone could take it")
        received = []
        services[3].on_message(lambda payload, origin, via: received.append(payload))
        yield sent
        self.assertEqual(received, [b"are you there?"])

    @defer.inlineCallbacks
    def test_a_failing_answerer_fails_the_request_promptly(self):
        services = yield self._four()

        def broken(payload, origin, via):
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
        services[3].on_request(lambda payload, origin, via: defer.Deferred())  # never answers
        pending = services[1].request(bytes([4]) * 32, b"are you there")
        yield services[1].stopService()
        with self.assertRaises(Unreachable):
            yield pending


class StunClientTests(TestCase):
    timeout = 30

    def setUp(self):
        self.directory = self.mktemp()
        os.makedirs(self.directory)

    @defer.inlineCallbacks
    def test_a_server_learns_its_address_from_a_configured_stun_server(self):
        stun_server = MeshService(("127.0.0.1", 0), os.path.join(self.directory, "s.key"),
                                  b"\x01" * 32, (), reactor)
        stun_server.startService()
        self.addCleanup(stun_server.stopService)
        # No bootstrap: the STUN server is the only one that can tell it anything.
        asker = MeshService(("127.0.0.1", 0), os.path.join(self.directory, "a.key"), b"\x02" * 32,
                            (), reactor, stun_servers=[stun_server.address])
        asker.startService()
        self.addCleanup(asker.stopService)
        yield wait_for(lambda: asker.node.traversal.observed, "a STUN answer")
        self.assertEqual(asker.node.traversal.reflexive_addresses(), [asker.address])
        self.assertEqual(stun_server.stats()["stun_answered"], 1)
        self.assertEqual(asker.stats()["stun_answered_us"], 1)

    @defer.inlineCallbacks
    def test_malformed_stun_is_dropped_and_counted(self):
        from twisted.internet.protocol import DatagramProtocol
        server = MeshService(("127.0.0.1", 0), os.path.join(self.directory, "s.key"),
                             b"\x01" * 32, (), reactor)
        server.startService()
        self.addCleanup(server.stopService)
        sender = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
        self.addCleanup(sender.stopListening)
        # A Binding request header whose attribute runs past the end of the datagram.
        bad = bytes.fromhex("0001000c2112a442") + b"\x07" * 12 + bytes.fromhex("00200008") + b"\x00"
        sender.write(bad, server.address)
        yield wait_for(lambda: server.stats()["drop_malformed_stun_request"] == 1, "the drop")
