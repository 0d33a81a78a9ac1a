"""A listening API on 127.0.0.1 in front of a real embedded-Redis store, and a client for it."""

from __future__ import annotations

import io
import json
from typing import Optional

import attr
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from treq.client import HTTPClient
from zope.interface import implementer

from nostrp2p.api import INodeHooks, api_site, make_api
from nostrp2p.nostr import KeyPair, sign_event
from nostrp2p.store.testing import start_test_store

OWNER = KeyPair.from_secret(bytes.fromhex("11" * 32))
STRANGER = KeyPair.from_secret(bytes.fromhex("22" * 32))

CLIENT_HEADERS = {
    "content-type": "application/json",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Private-Network": "true",
    "Accept-Encoding": "gzip, deflate",
}
PUBLISH_HEADERS = dict(CLIENT_HEADERS, accept="application/json")
REQ_HEADERS = dict(CLIENT_HEADERS, accept="application/octet-stream")


def async_test(method):
    def wrapper(self):
        return Deferred.fromCoroutine(method(self))
    wrapper.__name__ = method.__name__
    return wrapper


@implementer(INodeHooks)
class RecordingNode:
    """The node layer's side of the interface, remembering what the API told it."""

    def __init__(self):
        self.published_events = []
        self.wanted_calls = []

    def published(self, event):
        self.published_events.append(event)

    def wanted(self, event_filter, held_events):
        self.wanted_calls.append((event_filter, list(held_events)))


@attr.s(auto_attribs=True)
class RunningApi:
    url: str
    port: int
    store: object
    node: RecordingNode
    http: HTTPClient
    agent: Agent

    async def post(self, path: str, body, headers: Optional[dict] = None):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode("utf-8")
        response = await self.http.post(self.url + path, data=body,
                                        headers=headers or CLIENT_HEADERS)
        # Read (and keep) the body now, so the connection goes back to the pool, whose
        # cleanup closes it.
        await response.content()
        return response

    async def raw(self, method: bytes, path: str, body: Optional[bytes], headers: dict):
        """(response, body bytes) exactly as sent: no decoding of gzip answers."""
        producer = None if body is None else FileBodyProducer(io.BytesIO(body))
        response = await self.agent.request(
            method, (self.url + path).encode(),
            Headers({k: [v] for k, v in headers.items()}), producer)
        return response, await readBody(response)

    async def publish(self, event, headers=None):
        return await self.post("/publish", event.to_json(), headers or PUBLISH_HEADERS)

    async def req(self, event_filter: dict, headers=None):
        return await self.post("/req", event_filter, headers or REQ_HEADERS)


async def start_api(testcase, writable: bool = True, store=None, binding=None) -> RunningApi:
    if store is None:
        store = await start_test_store(testcase)
    node = RecordingNode()
    resource = make_api(store, node, OWNER.public, writable, binding)
    port = reactor.listenTCP(0, api_site(resource), interface="127.0.0.1")
    testcase.addCleanup(port.stopListening)
    pool = HTTPConnectionPool(reactor, persistent=True)
    testcase.addCleanup(pool.closeCachedConnections)
    agent = Agent(reactor, pool=pool)
    number = port.getHost().port
    return RunningApi(f"http://127.0.0.1:{number}", number, store, node, HTTPClient(agent), agent)


def post(created_at: int, content: str = "hello", keys: KeyPair = OWNER, kind: int = 1,
         tags=()):
    return sign_event(keys.secret, created_at, kind, tags, content)
