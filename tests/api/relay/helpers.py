"""A relay interface under test (the real API on 127.0.0.1 with a real embedded-Redis store)
and a raw WebSocket client (autobahn's) that sends frames exactly as given."""

from __future__ import annotations

import json
from collections import deque
from typing import Optional

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.endpoints import TCP4ClientEndpoint
from zope.interface import implementer

from nostrp2p.api import INodeHooks, api_site, make_api
from nostrp2p.api.relay import RelaySettings
from nostrp2p.store.testing import start_test_store

from ..helpers import OWNER, RecordingNode

ANSWER_TIMEOUT = 10.0


@implementer(INodeHooks)
class ListeningNode(RecordingNode):
    """RecordingNode that also offers Node.listen, so a test can play the overlay storing an
    event (``deliver``)."""

    def __init__(self, store):
        super().__init__()
        self.store = store
        self.listeners = []

    def listen(self, listener):
        self.listeners.append(listener)

    async def deliver(self, event):
        """What the node does with an event from another server: store it, tell listeners."""
        if await self.store.add(event):
            for listener in self.listeners:
                listener(event)


class RelayUnderTest:
    def __init__(self, port, store, node, site):
        self.port = port
        self.store = store
        self.node = node
        self.site = site

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port.getHost().port}/"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}"

    @property
    def relay(self):
        return self.site.resource.relay

    def connections(self) -> int:
        return len(self.relay.hub.connections)


async def start_relay(testcase, settings: RelaySettings = RelaySettings(),
                      writable: bool = True, store=None, binding=None) -> RelayUnderTest:
    if store is None:
        store = await start_test_store(testcase)
    node = ListeningNode(store)
    site = api_site(make_api(store, node, OWNER.public, writable, binding,
                                 relay_settings=settings))
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    testcase.addCleanup(port.stopListening)
    return RelayUnderTest(port, store, node, site)


class RawClient(WebSocketClientProtocol):
    """Keeps every text message it receives, decoded from JSON (raw bytes if not JSON)."""

    def __init__(self):
        super().__init__()
        self.received: deque = deque()
        self._waiting: Optional[Deferred] = None
        self.closed = Deferred()
        self.close_code = None
        self.close_reason = None

    def onMessage(self, payload, isBinary):
        try:
            self.received.append(json.loads(payload))
        except ValueError:
            self.received.append(payload)
        if self._waiting is not None:
            waiting, self._waiting = self._waiting, None
            waiting.callback(None)

    def onClose(self, wasClean, code, reason):
        self.close_code, self.close_reason = code, reason
        if not self.closed.called:
            self.closed.callback((code, reason))
        if self._waiting is not None:
            waiting, self._waiting = self._waiting, None
            waiting.callback(None)

    def send_json(self, message) -> None:
        self.sendMessage(json.dumps(message).encode("utf-8"))

    def send_raw(self, payload: bytes, binary: bool = False) -> None:
        self.sendMessage(payload, isBinary=binary)

    async def next(self, timeout: float = ANSWER_TIMEOUT):
        """The next message received (waits for it); AssertionError on timeout or close."""
        deadline = reactor.seconds() + timeout
        while not self.received:
            if self.closed.called:
                raise AssertionError(f"connection closed: {self.close_code} {self.close_reason}")
            if reactor.seconds() > deadline:
                raise AssertionError("no message in time")
            self._waiting = Deferred()
            timer = reactor.callLater(max(0.0, deadline - reactor.seconds()),
                                      lambda d=self._waiting: d.called or d.callback(None))
            await self._waiting
            if timer.active():
                timer.cancel()
        return self.received.popleft()

    async def next_of(self, verb: str, timeout: float = ANSWER_TIMEOUT):
        """The next message with this verb, skipping others (the AUTH challenge, say)."""
        deadline = reactor.seconds() + timeout
        while True:
            message = await self.next(max(0.01, deadline - reactor.seconds()))
            if isinstance(message, list) and message and message[0] == verb:
                return message

    async def until_eose(self, sub_id: str) -> list:
        """The events sent on ``sub_id`` before its EOSE."""
        events = []
        while True:
            message = await self.next()
            if message[0] == "EOSE" and message[1] == sub_id:
                return events
            if message[0] == "EVENT" and message[1] == sub_id:
                events.append(message[2])
            elif message[0] in ("CLOSED", "NOTICE"):
                raise AssertionError(f"REQ {sub_id} refused: {message}")


async def connect(testcase, relay: RelayUnderTest, headers=None) -> RawClient:
    factory = WebSocketClientFactory(relay.url, headers=headers)
    factory.protocol = RawClient
    factory.setProtocolOptions(maxMessagePayloadSize=0, maxFramePayloadSize=0)
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", relay.port.getHost().port)
    client = await endpoint.connect(factory)
    testcase.addCleanup(_close, client)
    await DeferredList([client.is_open, client.closed], fireOnOneCallback=True,
                       consumeErrors=True)
    if client.closed.called:
        raise ConnectionRefusedByRelay(f"{client.close_code} {client.close_reason}")
    return client


class ConnectionRefusedByRelay(Exception):
    pass


def _close(client: RawClient):
    if client.transport is not None and not client.closed.called:
        client.transport.abortConnection()
        return client.closed
    return None
