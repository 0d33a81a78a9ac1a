"""Real nodes on real stores, joined by the in-memory overlay, on one fake clock."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from nostrp2p.node.node import Node, NodeSettings
from nostrp2p.nostr import Event, KeyPair, sign_event
from nostrp2p.store.testing import start_test_store

from .network import MemoryNetwork

NOW = 1_732_400_000
DAY = 24 * 3600

ALICE, BOB, CAROL, DAVE = (KeyPair.from_secret(bytes([n]) * 32) for n in (1, 2, 3, 4))
MALLORY = KeyPair.from_secret(b"\x66" * 32)


def async_test(method):
    def wrapper(self):
        return Deferred.fromCoroutine(method(self))
    wrapper.__name__ = method.__name__
    return wrapper


def signed(who: KeyPair, kind: int = 1, tags=(), content: str = "hello", at: int = NOW) -> Event:
    return sign_event(who.secret, at, kind, tuple(tuple(t) for t in tags), content)


def ptag(who: KeyPair) -> list:
    return ["p", who.public.hex()]


class Cluster:
    """Several servers, each its owner's Node on its own embedded Redis."""

    def __init__(self, testcase, settings: NodeSettings = NodeSettings()):
        self.testcase = testcase
        self.settings = settings
        self.clock = Clock()
        self.clock.advance(NOW)
        self.network = MemoryNetwork(self.clock)
        self.nodes: dict[bytes, Node] = {}

    async def add(self, who: KeyPair, start: bool = True, store=None,
                  delivery: str = "broadcast") -> Node:
        if store is None:
            store = await start_test_store(self.testcase)
        node = Node(store, self.network.join(who.public), who.public, self.clock, self.settings,
                    delivery=delivery)
        self.nodes[who.public] = node
        self.testcase.addCleanup(node.stop)
        self.testcase.addCleanup(node.settled)  # runs first: nothing left to reach the store
        if start:
            node.start()
            await self.settle()
        return node

    async def restart(self, who: KeyPair) -> Node:
        """The server goes down (its node stops) and comes back on the same store."""
        old = self.nodes.pop(who.public)
        await old.settled()
        old.stop()
        self.network.leave(who.public)
        return await self.add(who, store=old.store, delivery=old.delivery)

    async def settle(self) -> None:
        """Until no node has work in progress (one node's work may start another's)."""
        while any(len(node.tasks) for node in self.nodes.values()):
            for node in list(self.nodes.values()):
                await node.settled()

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.settle()

    async def publish(self, who: KeyPair, event: Event) -> None:
        """What the REST API does with the owner's event: store it, hand it to the node."""
        node = self.nodes[who.public]
        self.testcase.assertTrue(await node.store.add(event))
        node.published(event)
        await self.settle()

    async def holds(self, who: KeyPair, event: Event) -> bool:
        return bool(await self.nodes[who.public].store.get([event.id]))
