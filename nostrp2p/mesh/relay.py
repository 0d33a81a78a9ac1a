"""Unicast through peers when no direct session with the destination can be made (a firewall,
a NAT that does not let us in): the origin hands the message to a relay, which passes it on
over its own session with the destination, or to a server nearer the destination, at most
MAX_RELAY_HOPS times and never twice through one server. The destination answers along the way
it was reached. Only unicast frames travel this way, within a per-origin budget, and what a
server passes on for others is bounded by its RelayAllowance."""

from __future__ import annotations

from nostrp2p.bounded import WindowBudget
from nostrp2p.mesh import limits, messages as m, wire
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.relay_allowance import RelayAllowance
from nostrp2p.mesh.routing import route_id


class RelayedPeer:
    """The origin of a relayed message, as the layers above see a peer; ``via`` is the server
    that handed it to us."""

    __slots__ = ("overlay_key", "owner", "address", "via")

    def __init__(self, overlay_key, owner, via: Descriptor):
        self.overlay_key = overlay_key
        self.owner = owner
        self.address = None
        self.via = via


def session_key(peer) -> bytes:
    """The overlay key of the authenticated session a message arrived on: the peer's own, or
    for a relayed message the relay's (the origin it names is only what the relay wrote)."""
    return peer.via.overlay_key if isinstance(peer, RelayedPeer) else peer.overlay_key


class Relay:
    """Carries unicast frames for others (forwarding, within its budget and allowance) and
    sends ours through the relay that Reachability chose."""

    def __init__(self, node, links, router, reachability):
        self.node = node  # the core: identity, counters, dispatch of what arrives
        self.links = links
        self.table = router.table
        self.reachability = reachability
        self.on_refused = None  # on_refused(destination, now): our relay would not carry it
        self.budget = WindowBudget(limits.RELAY_BUDGET_PER_SECOND, 1.0, limits.RELAY_ORIGINS_MAX)
        self.allowance = RelayAllowance(node.config.relay_bytes_per_second)
        node.handle(m.Relay, self._on_relay)
        node.handle(m.Relayed, self._on_relayed)
        node.handle(m.RelayRefused, self._on_relay_refused)

    # --- origin side ---------------------------------------------------------------------------
    def send_via(self, destination: bytes, message: m.Message, now: float) -> bool:
        """Send ``message`` through the relay chosen for ``destination``, if there is one and
        no direct session."""
        relay = self.reachability.relay_for(destination)
        if relay is None or not isinstance(message, m.RELAYABLE) or self.links.has_session(destination):
            return False
        destination_owner = self.reachability.owner_of(destination)
        if destination_owner is None:
            return False  # nobody could route it towards a key we do not know
        self._send_through(relay, destination, destination_owner, message, now)
        self.reachability.introduce_now_and_then(destination, relay, now)
        return True

    def answer(self, peer, message, now) -> None:
        """Answer ``peer`` with a relayable ``message``. What came through a relay is answered
        through it even while we hold a session with its origin: the origin relays only when
        it has none with us, so ours is stale, and an answer sent on it would be lost."""
        if isinstance(peer, RelayedPeer) and peer.via.overlay_key != peer.overlay_key:
            self._send_through(peer.via, peer.overlay_key, peer.owner, message, now)
        else:
            self.node.send(peer.overlay_key, peer.address, message, now)

    def _send_through(self, relay: Descriptor, destination: bytes, destination_owner: bytes,
                      message: m.Message, now: float) -> None:
        ident = self.node.identity
        frame = m.Relay(destination, destination_owner, limits.MAX_RELAY_HOPS,
                        (ident.public_key,), ident.owner_key, message)
        self.links.send(relay.overlay_key, relay.address, frame, now)

    def _on_relay_refused(self, peer, message, now):
        destination = message.destination
        relay = self.reachability.relay_for(destination)
        if relay is None or relay.overlay_key != peer.overlay_key:
            return  # about a route we have already left
        self.node.count("relay_refused")
        self.on_refused(destination, now)

    # --- relay side ----------------------------------------------------------------------------
    def _on_relay(self, peer, message, now):
        destination, destination_owner = message.destination, message.destination_owner
        ttl, path, owner, inner = message.ttl, message.path, message.origin_owner, message.inner
        me = self.node.identity.public_key
        if me in path or path[-1] != peer.overlay_key:
            self.node.count("drop_relay_loop")
            return
        if len(path) == 1:
            owner = peer.owner  # the first relay knows the origin's claim from its session
        if not self.budget.allow(path[0], now):
            self.node.count("drop_relay_over_budget")
            return
        if destination == me:
            self._on_relayed(peer, m.Relayed(path[0], owner, inner), now)
            return
        known = self.table.descriptor_of(destination)
        if self.links.has_session(destination) or known is not None:
            to, address = destination, (known.address if known is not None else None)
            frame = m.Relayed(path[0], owner, inner)
        else:
            # Pass it on to a server nearer the destination's key that we have a session with.
            nearer = [d for d in self.table.closest(route_id(destination_owner), limits.ROUTING_BUCKET_SIZE)
                      if d.overlay_key not in path and self.links.has_session(d.overlay_key)]
            if ttl <= 1 or not nearer:
                self._refuse(peer, path, destination, "drop_relay_no_route", now)
                return
            to, address = nearer[0].overlay_key, nearer[0].address
            frame = m.Relay(destination, destination_owner, ttl - 1, path + (me,), owner, inner)
        refusal = self.allowance.refusal(path[0], destination, len(wire.pack(inner.encode())), now)
        if refusal is not None:
            self._refuse(peer, path, destination, refusal, now)
            return
        self.node.count("relayed")
        self.links.send(to, address, frame, now)

    def _refuse(self, peer, path, destination, reason, now):
        self.node.count(reason)
        if len(path) == 1:
            # The origin is our peer: told, it moves on to another relay at once instead of
            # after rounds of retransmissions. (Each notice answers a frame within the origin's
            # relay budget.) Further along the path nobody has a session with the origin.
            self.links.send(peer.overlay_key, peer.address, m.RelayRefused(destination), now)

    def _on_relayed(self, peer, message, now):
        origin, owner, inner = message.origin, message.origin_owner, message.inner
        if origin == self.node.identity.public_key:
            raise m.MalformedFrame("RELAYED carries a unicast frame from another server")
        host, port = peer.address
        via = Descriptor(peer.overlay_key, peer.owner, str(host), int(port))
        if not self.links.has_session(origin):
            self.reachability.reached_us_through(origin, owner, via)
        self.node.count("relayed_received")
        self.node.dispatch(RelayedPeer(origin, owner, via), inner, now)

