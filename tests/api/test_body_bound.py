"""An oversized body is refused from its headers (or its first bytes past the bound) over a real
socket: the server answers 413 and closes without waiting for the rest."""

import json

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.trial import unittest

from nostrp2p.api import limits

from .helpers import async_test, post, start_api


class _RawClient(Protocol):
    """Sends some bytes, collects the answer until the server closes."""

    def __init__(self, to_send: bytes):
        self.to_send = to_send
        self.received = b""
        self.closed = Deferred()

    def connectionMade(self):
        self.transport.write(self.to_send)

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.reason = reason.value
        self.closed.callback(self.received)


async def exchange(port: int, to_send: bytes) -> bytes:
    """What the server answered before closing, having been sent only ``to_send``."""
    client = _RawClient(to_send)
    factory = ClientFactory.forProtocol(lambda: client)
    reactor.connectTCP("127.0.0.1", port, factory)
    return await client.closed


def status_and_body(answer: bytes):
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head.lower(), body


class BodyBoundTests(unittest.TestCase):
    @async_test
    async def test_a_client_still_sending_its_body_reads_the_413_without_a_reset(self):
        # The whole oversized body is sent at once, as most clients do before they read: the
        # server must let it arrive (a lingering close) or the client is reset and never sees
        # the answer.
        api = await start_api(self)
        body = b"x" * (4 * limits.MAX_REQUEST_BODY_BYTES)
        request = (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body)) + body
        client = _RawClient(request)
        reactor.connectTCP("127.0.0.1", api.port, ClientFactory.forProtocol(lambda: client))
        status, _, answer = status_and_body(await client.closed)
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(answer)["Field"], "body")
        self.assertIsInstance(client.reason, ConnectionDone)


    @async_test
    async def test_declared_length_over_the_bound_is_refused_before_any_body(self):
        api = await start_api(self)
        # Only the headers are sent: the server must answer and close without the body.
        head = (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Expect: 100-continue\r\n"
                b"Content-Length: %d\r\n\r\n" % (limits.MAX_REQUEST_BODY_BYTES + 1))
        status, headers, body = status_and_body(await exchange(api.port, head))
        self.assertEqual(status, 413)
        self.assertIn(b"access-control-allow-origin: *", headers)
        self.assertNotIn(b"100 continue", body.lower())
        self.assertEqual(json.loads(body)["Field"], "body")
        self.assertEqual((await api.publish(post(1732400000))).code, 200)

    @async_test
    async def test_chunked_body_over_the_bound_is_refused_midway(self):
        api = await start_api(self)
        chunk = b" " * 65536
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk)
                          for _ in range(limits.MAX_REQUEST_BODY_BYTES // len(chunk) + 1))
        # No terminating chunk: the server can only answer by refusing what it has counted.
        head = (b"POST /req HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        status, headers, body = status_and_body(await exchange(api.port, head + chunks))
        self.assertEqual(status, 413)
        self.assertIn(b"access-control-allow-private-network: true", headers)
        self.assertEqual((await api.req({"kinds": [40000]})).code, 200)

    @async_test
    async def test_chunked_body_within_the_bound_is_served(self):
        api = await start_api(self)
        event = json.dumps(post(1732400000).to_json()).encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (event[:50], event[50:]))
        request = (b"POST /publish HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
        status, _, body = status_and_body(await exchange(api.port, request))
        self.assertEqual(status, 200)
        self.assertEqual(await api.store.count(), 1)

    @async_test
    async def test_malformed_multipart_body_gets_the_json_answer(self):
        api = await start_api(self)
        body = b"--broken\r\nnot a part"
        request = (b"POST /publish HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   b"Content-Type: multipart/form-data; boundary=zzz\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body)) + body
        status, headers, answer = status_and_body(await exchange(api.port, request))
        self.assertEqual(status, 400)
        self.assertIn(b"access-control-allow-origin: *", headers)
        self.assertEqual(json.loads(answer)["Field"], "json")
