"""Serving the API from an endpoint string, plain TCP and TLS, and the node hooks."""

import json
import os

import twisted.test
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.trial import unittest
from zope.interface import implementer
from zope.interface.exceptions import Invalid
from zope.interface.verify import verifyObject

from nostrp2p.api import INodeHooks, NoOverlay, api_service, make_api
from nostrp2p.store.testing import start_test_store

from .helpers import OWNER, async_test, post

CERT = os.path.join(os.path.dirname(twisted.test.__file__), "server.pem")


class _OneExchange(Protocol):
    def __init__(self, request: bytes):
        self.request = request
        self.answer = b""
        self.done = Deferred()

    def connectionMade(self):
        self.transport.write(self.request)

    def dataReceived(self, data):
        self.answer += data

    def connectionLost(self, reason):
        self.done.callback(self.answer)


def publish_request(event) -> bytes:
    body = json.dumps(event.to_json()).encode()
    return (b"POST /publish HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body


async def serve_and_publish(testcase, description_for_port, client_description, node=None):
    store = await start_test_store(testcase)
    service = api_service(make_api(store, node or NoOverlay(), OWNER.public, True),
                          description_for_port, reactor)
    service.startService()
    testcase.addCleanup(service.stopService)
    port = (await service._waitingForPort).getHost().port
    protocol = _OneExchange(publish_request(post(1732400000)))
    await connectProtocol(clientFromString(reactor, client_description % port), protocol)
    answer = await protocol.done
    return store, answer


@implementer(INodeHooks)
class _BrokenNode:
    def published(self, event):
        raise RuntimeError("overlay exploded")

    def wanted(self, event_filter, held_events, client=None):
        raise RuntimeError("overlay exploded")


class ServiceTests(unittest.TestCase):
    @async_test
    async def test_plain_tcp_endpoint(self):
        store, answer = await serve_and_publish(
            self, "tcp:0:interface=127.0.0.1", "tcp:host=127.0.0.1:port=%d")
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)
        self.assertTrue(answer.endswith(b"\r\n\r\n{\"Status\": \"SUCCESS\"}"), answer)
        self.assertIn(b"Content-Length: 21\r\n", answer)
        self.assertEqual(await store.count(), 1)

    @async_test
    async def test_tls_endpoint(self):
        store, answer = await serve_and_publish(
            self, f"ssl:0:interface=127.0.0.1:privateKey={CERT}:certKey={CERT}",
            "ssl:host=127.0.0.1:port=%d")
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)
        self.assertEqual(await store.count(), 1)

    def test_bad_endpoint_description_is_refused_before_starting(self):
        self.assertRaises(ValueError, api_service, object(), "nonsense:1", reactor)

    def test_no_overlay_provides_the_hooks(self):
        self.assertTrue(verifyObject(INodeHooks, NoOverlay()))

    @async_test
    async def test_a_failing_node_does_not_undo_a_stored_event(self):
        store, answer = await serve_and_publish(
            self, "tcp:0:interface=127.0.0.1", "tcp:host=127.0.0.1:port=%d", node=_BrokenNode())
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)
        self.assertEqual(await store.count(), 1)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    @async_test
    async def test_any_object_with_the_two_methods_is_a_node(self):
        class Undeclared:
            def published(self, event):
                pass

            def wanted(self, event_filter, held_events, client=None):
                pass

        store = await start_test_store(self)
        make_api(store, Undeclared(), OWNER.public, True)
        self.assertRaises(Invalid, make_api, store, object(), OWNER.public, True)


class _HeldStore:
    """The real store, with writes and reads held until the test releases them."""

    def __init__(self, store):
        self.store = store
        self.held = []

    def _hold(self, work):
        gate = Deferred()
        self.held.append(gate)
        return gate.addCallback(lambda _: work())

    def add(self, event):
        return self._hold(lambda: self.store.add(event))

    def query(self, event_filter):
        return self._hold(lambda: self.store.query(event_filter))

    def release(self):
        held, self.held = self.held, []
        for gate in held:
            gate.callback(None)


class HangUpTests(unittest.TestCase):
    async def _hang_up_during(self, request_bytes, node):
        real = await start_test_store(self)
        store = _HeldStore(real)
        service = api_service(make_api(store, node, OWNER.public, True),
                              "tcp:0:interface=127.0.0.1", reactor)
        service.startService()
        self.addCleanup(service.stopService)
        port = (await service._waitingForPort).getHost().port
        protocol = _OneExchange(request_bytes)
        await connectProtocol(clientFromString(reactor, f"tcp:host=127.0.0.1:port={port}"),
                              protocol)
        while not store.held:  # poll: the request reaches the store after a few reactor turns
            await deferLater(reactor, 0.001)
        protocol.transport.loseConnection()
        await protocol.done
        store.release()
        return real

    @async_test
    async def test_publish_is_stored_and_delivered_when_the_client_hangs_up(self):
        from .helpers import RecordingNode
        node = RecordingNode()
        event = post(1732400000)
        real = await self._hang_up_during(publish_request(event), node)
        for _ in range(1000):
            if node.published_events:
                break
            await deferLater(reactor, 0.005)
        self.assertEqual(node.published_events, [event])
        self.assertEqual(await real.count(), 1)

    @async_test
    async def test_read_abandoned_by_the_client_logs_nothing(self):
        body = b'{"kinds":[40000]}'
        request = (b"POST /req HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
                   + body)
        await self._hang_up_during(request, NoOverlay())
        await deferLater(reactor, 0.01)
        # trial fails the test if anything was logged as an error
