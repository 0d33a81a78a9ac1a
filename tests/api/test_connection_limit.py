"""The HTTP port's connection bounds: one address cannot hold every socket the server has, and
idle connections do not stay open for hours."""

from twisted.internet import reactor, task
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.internet.testing import StringTransport
from twisted.trial import unittest
from twisted.web.resource import Resource

from nostrp2p.api import api_site, limits

from .helpers import async_test
from .relay.helpers import connect, start_relay

DEADLINE = 10.0


class _Ok(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"ok"


async def until(condition, what: str) -> None:
    deadline = reactor.seconds() + DEADLINE
    while not condition():
        if reactor.seconds() > deadline:
            raise AssertionError(f"not in time: {what}")
        await task.deferLater(reactor, 0.01)


class _Held(Protocol):
    """A client connection that sends only what it is told to, and keeps what it hears."""

    def __init__(self):
        self.received = b""
        self.closed = Deferred()

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.closed.callback(None)


def _open(port: int) -> _Held:
    client = _Held()
    reactor.connectTCP("127.0.0.1", port, ClientFactory.forProtocol(lambda: client))
    return client


class PerAddressCapTests(unittest.TestCase):
    @async_test
    async def test_one_address_beyond_the_cap_is_closed_and_a_freed_slot_is_usable_again(self):
        site = api_site(_Ok())
        most = site.slots.most = 8  # the mechanism, without opening hundreds of sockets
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        clients = [_open(number) for _ in range(most + 1)]
        self.addCleanup(lambda: [c.transport.abortConnection() for c in clients
                                 if c.transport is not None and not c.closed.called])
        await until(lambda: site.slots.refused == 1, "the connection over the cap refused")
        await until(lambda: sum(c.closed.called for c in clients) == 1, "it is closed")
        self.assertEqual(site.slots.open_by_group["127.0.0.1"], most)
        refused = next(c for c in clients if c.closed.called)
        self.assertEqual(refused.received, b"")  # closed before a byte was read or written

        held = next(c for c in clients if not c.closed.called)
        held.transport.loseConnection()
        await until(lambda: site.slots.open_by_group["127.0.0.1"] == most - 1, "the slot freed")
        again = _open(number)
        self.addCleanup(lambda: again.closed.called or again.transport.abortConnection())
        await until(lambda: again.transport is not None and again.transport.connected,
                    "connected again")
        again.transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await until(lambda: again.received.endswith(b"ok"), "an answer on the freed slot")
        self.assertTrue(again.received.startswith(b"HTTP/1.1 200"))

    def test_ipv6_hosts_are_counted_by_their_slash_64(self):
        site = api_site(_Ok())
        most = limits.MAX_HTTP_CONNECTIONS_PER_ADDRESS
        for i in range(most):
            self.assertIsNotNone(site.buildProtocol(IPv6Address("TCP", f"2001:db8::{i + 1:x}", 1)))
        # Any address of the same /64 is the same host for the cap; another /64 is not.
        self.assertIsNone(site.buildProtocol(IPv6Address("TCP", "2001:db8::ffff:1", 1)))
        self.assertIsNotNone(site.buildProtocol(IPv6Address("TCP", "2001:db8:0:1::1", 1)))

    @async_test
    async def test_a_websocket_gives_its_http_slot_to_the_relays_own_count(self):
        relay = await start_relay(self)
        await connect(self, relay)
        self.assertEqual(relay.connections(), 1)
        # Nothing else would ever give it back: the HTTP channel never sees the socket close.
        self.assertNotIn("127.0.0.1", relay.site.slots.open_by_group)


class IdleTimeoutTests(unittest.TestCase):
    def test_an_idle_connection_is_closed_after_the_idle_timeout(self):
        clock = task.Clock()
        site = api_site(_Ok(), reactor=clock)
        channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
        transport = StringTransport()
        channel.makeConnection(transport)
        channel.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"200", transport.value())
        clock.advance(limits.HTTP_IDLE_SECONDS - 1)
        self.assertFalse(transport.disconnecting)
        clock.advance(2)
        self.assertTrue(transport.disconnecting)
