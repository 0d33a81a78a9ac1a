"""The node on a server of the mesh simulator (nostrp2p/mesh/sim): the real :class:`Node` above
the simulated server's real overlay core, so that what the node does in answer to the overlay
(to a broadcast naming a victim, say) is measured in a network of hundreds of servers.

The node's store here is :class:`MemoryStore`, in memory and answering at once, holding what a
scenario gives it; its clock is the simulator's, shifted to ``EPOCH`` (the node checks dates).
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, succeed
from zope.interface import implementer

from .node import Node, NodeSettings
from .overlay import IOverlay, UnicastFailed

EPOCH = 1_732_400_000  # what the node's clock reads at simulated time 0


class SimClock:
    """The simulator's time, as the node reads it, and its calls (the node is not started, so
    it arms no timers of its own; its intake stores what arrived at the end of each turn)."""

    def __init__(self, net):
        self.net = net

    def seconds(self) -> float:
        return EPOCH + self.net.now

    def callLater(self, delay, function, *args):  # noqa: N802 (the reactor's name)
        return self.net.call_later(delay, function, *args)


class MemoryStore:
    """The few store calls the node makes while it answers the overlay, in memory."""

    def __init__(self, events=()):
        self.events = {e.id: e for e in events}

    def recall(self, ids):
        return {i for i in ids if i in self.events}, []

    def get(self, ids):
        return succeed([self.events[i] for i in ids if i in self.events])

    def add_all(self, events):
        added = [e.id not in self.events for e in events]
        for event in events:
            self.events.setdefault(event.id, event)
        return succeed(added)

    def query(self, event_filter):
        found = sorted((e for e in self.events.values() if event_filter.matches(e)),
                       key=lambda e: e.created_at, reverse=True)
        return succeed(found[: event_filter.limit] if event_filter.limit else found)

    def current_profile(self, pubkey):
        return succeed(None)

    def current_follow_list(self, pubkey):
        return succeed(None)

    def count(self):
        return succeed(len(self.events))


@implementer(IOverlay)
class SimOverlay:
    """IOverlay over the server at ``address`` of a SimNetwork."""

    def __init__(self, net, address):
        self.net = net
        self.address = address

    @property
    def core(self):
        return self.net.node(self.address)

    def broadcast(self, payload: bytes) -> None:
        self.net.broadcast(self.address, payload)

    def send(self, owner_key: bytes, payload: bytes) -> Deferred:
        return self._sent(self.net.unicast(self.address, owner_key, payload))

    def request(self, owner_key: bytes, payload: bytes) -> Deferred:
        return self._sent(self.net.request(self.address, owner_key, payload))

    @staticmethod
    def _sent(outcome) -> Deferred:
        result = Deferred()

        def done(error, reply):
            if error is not None:
                result.errback(UnicastFailed(f"{type(error).__name__}: {error}"))
            else:
                result.callback(reply)

        outcome.watch(done)
        return result

    def neighbours(self) -> list:
        return [peer.owner_key for peer in self.core.peers()]

    def set_handlers(self, on_broadcast, on_message, on_request) -> None:
        """The node hears what the simulator records, after it has recorded it."""
        core, net = self.core, self.net
        recorded_broadcast, recorded_message = core.on_broadcast, core.on_message

        def broadcast(payload, origin, mid, via):
            if recorded_broadcast is not None:
                recorded_broadcast(payload, origin, mid, via)
            on_broadcast(payload, origin, via)

        def message(payload, origin, via):
            if recorded_message is not None:
                recorded_message(payload, origin, via)
            on_message(payload, origin, via)

        def request(payload, origin, via, respond):
            answer = on_request(payload, origin, via)
            if isinstance(answer, Deferred):
                answer.addCallback(lambda reply: respond(reply, net.now))
            else:
                respond(answer, net.now)

        core.on_broadcast, core.on_message, core.on_request = broadcast, message, request


def serve(net, address, owner: bytes, events=(), settings: NodeSettings = NodeSettings()) -> Node:
    """A node for ``owner`` above the simulated server at ``address``, its store holding
    ``events``. It lives as long as that server's core (a crash or restart leaves it behind)."""
    clock = SimClock(net)
    # The intake stores a turn's arrivals at the end of the reactor's turn; here there is no
    # reactor, and the end of a turn is the simulator's next event.
    return Node(MemoryStore(events), SimOverlay(net, address), owner, clock, settings,
                turns=clock)

