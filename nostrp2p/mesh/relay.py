"""Unicast through peers when no direct session with the destination can be made (a firewall,
a NAT that does not let us in): the origin hands the message to a relay, which passes it on
over its own session with the destination, or to a server nearer the destination, at most
MAX_RELAY_HOPS times and never twice through one server. The destination answers along the way
it was reached. Only unicast frames travel this way, within a per-origin budget, and what a
server passes on for others is bounded by its RelayAllowance."""

from __future__ import annotations

from nostrp2p.bounded import RecentTable, WindowBudget
from nostrp2p.mesh import limits, messages as m, wire
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.relay_allowance import RelayAllowance
from nostrp2p.mesh.routing import route_id



class RelayedPeer:
    """The origin of a relayed message, as the layers above see a peer; ``via`` is the server
    that handed it to us."""

    __slots__ = ("static", "owner", "address", "via")

    def __init__(self, static, owner, via: Descriptor):
        self.static = static
        self.owner = owner
        self.address = None
        self.via = via


class Relay:
    def __init__(self, node):
        self.node = node
        self.routes = RecentTable(limits.RELAY_ROUTES_MAX)  # destination -> relay descriptor
        self.hints = RecentTable(limits.RELAY_HINTS_MAX)  # destination -> [candidate relays]
        self.tried = RecentTable(limits.RELAY_ROUTES_MAX)  # destination -> {relays tried}
        self.named = RecentTable(limits.RELAY_HINTS_MAX)  # destinations that named their relays
        # servers we unicast to or were relayed from -> their owner keys (a relay routes by it)
        self.owners = RecentTable(limits.RELAY_ROUTES_MAX)
        self.punched = RecentTable(limits.RELAY_ROUTES_MAX)  # destination -> when introduced
        self.budget = WindowBudget(limits.RELAY_BUDGET_PER_SECOND, 1.0, limits.RELAY_ORIGINS_MAX)
        self.allowance = RelayAllowance(node.config.relay_bytes_per_second)
        node.handle(m.Relay, self._on_relay)
        node.handle(m.Relayed, self._on_relayed)
        node.handle(m.RelayRefused, self._on_relay_refused)

    # --- origin side ---------------------------------------------------------------------------
    def hint(self, destination: bytes, relay: Descriptor, named: bool = False) -> None:
        """``relay`` told us of ``destination``, or ``destination`` ``named`` it as a relay: it
        may be able to reach it for us."""
        if relay.static == destination:
            return
        if named:
            self.named.keep(destination, None)
        hints = [relay] + [h for h in self.hints.get(destination, []) if h.static != relay.static]
        self.hints.keep(destination, hints[: limits.RELAY_HINTS_PER_DESTINATION])

    def route_around(self, destination: bytes, now: float) -> bool:
        """Direct contact with ``destination`` failed: use a relay not tried yet, if any."""
        if destination not in self.tried and destination not in self.named:
            # Meanwhile, ask for the relays it named: they hold sessions with it.
            contact = self.node.router.table.descriptor_of(destination)
            if contact is not None:
                self.node.router.seek_relays(contact, now)
        tried = self.tried.get(destination)
        if tried is None:
            tried = set()
            self.tried.keep(destination, tried)
        candidates = list(self.hints.get(destination, ()))
        candidates += [d for d in self.node.membership.active.values()]
        for relay in candidates:
            if relay.static not in tried and relay.static != destination:
                tried.add(relay.static)
                self.punched.pop(destination, None)  # this one introduces us at once
                self.routes.keep(destination, relay)
                self.node.count("relay_route_chosen")
                return True
        self.routes.pop(destination, None)
        self.tried.pop(destination, None)  # a later message starts over, direct first
        return False

    def reached(self, destination: bytes) -> None:
        """A message to ``destination`` got through: its relays may all be tried again later."""
        self.tried.pop(destination, None)

    def send_via(self, destination: bytes, message: m.Message, now: float) -> bool:
        """Send ``message`` through the relay chosen for ``destination``, if there is one and
        no direct session."""
        relay = self.routes.get(destination)
        if relay is None or not isinstance(message, m.RELAYABLE) or self.node.links.has_session(destination):
            return False
        destination_owner = self.owner_of(destination)
        if destination_owner is None:
            return False  # nobody could route it towards a key we do not know
        self._send_through(relay, destination, destination_owner, message, now)
        self._punch_now_and_then(destination, relay, now)
        return True

    def answer(self, peer, message, now) -> None:
        """Answer ``peer`` with a relayable ``message``. What came through a relay is answered
        through it even while we hold a session with its origin: the origin relays only when
        it has none with us, so ours is stale, and an answer sent on it would be lost."""
        if isinstance(peer, RelayedPeer) and peer.via.static != peer.static:
            self._send_through(peer.via, peer.static, peer.owner, message, now)
        else:
            self.node.send(peer.static, peer.address, message, now)

    def _send_through(self, relay: Descriptor, destination: bytes, destination_owner: bytes,
                      message: m.Message, now: float) -> None:
        ident = self.node.identity
        frame = m.Relay(destination, destination_owner, limits.MAX_RELAY_HOPS,
                        (ident.public_key,), ident.owner_key, message)
        self.node.links.send(relay.static, relay.address, frame, now)

    def _punch_now_and_then(self, destination: bytes, relay: Descriptor, now: float) -> None:
        """Have the relay introduce us to ``destination``, so that later messages may go direct."""
        asked = self.punched.get(destination)
        if asked is not None and now - asked < limits.PUNCH_RETRY_INTERVAL:
            return
        self.punched.keep(destination, now)
        self.node.traversal.punch(destination, relay, now)

    def _on_relay_refused(self, peer, message, now):
        destination = message.destination
        relay = self.routes.get(destination)
        if relay is None or relay.static != peer.static:
            return  # about a route we have already left
        self.node.count("relay_refused")
        self.node.unicaster.relay_refused(destination, now)

    # --- relay side ----------------------------------------------------------------------------
    def note_owner(self, static: bytes, owner: bytes) -> None:
        self.owners.keep(static, owner)

    def owner_of(self, static: bytes) -> bytes | None:
        known = self.owners.get(static)
        if known is None:
            desc = self.node.router.table.descriptor_of(static)
            known = desc.owner if desc is not None else None
        return known

    def _on_relay(self, peer, message, now):
        destination, destination_owner = message.destination, message.destination_owner
        ttl, path, owner, inner = message.ttl, message.path, message.origin_owner, message.inner
        me = self.node.identity.public_key
        if me in path or path[-1] != peer.static:
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
        known = self.node.router.table.descriptor_of(destination)
        if self.node.links.has_session(destination) or known is not None:
            to, address = destination, (known.address if known is not None else None)
            frame = m.Relayed(path[0], owner, inner)
        else:
            # Pass it on to a server nearer the destination's key that we have a session with.
            nearer = [d for d in self.node.router.table.closest(route_id(destination_owner),
                                                                 limits.ROUTING_BUCKET_SIZE)
                      if d.static not in path and self.node.links.has_session(d.static)]
            if ttl <= 1 or not nearer:
                self._refuse(peer, path, destination, "drop_relay_no_route", now)
                return
            to, address = nearer[0].static, nearer[0].address
            frame = m.Relay(destination, destination_owner, ttl - 1, path + (me,), owner, inner)
        refusal = self.allowance.refusal(path[0], destination, len(wire.pack(inner.encode())), now)
        if refusal is not None:
            self._refuse(peer, path, destination, refusal, now)
            return
        self.node.count("relayed")
        self.node.links.send(to, address, frame, now)

    def _refuse(self, peer, path, destination, reason, now):
        self.node.count(reason)
        if len(path) == 1:
            # The origin is our peer: told, it moves on to another relay at once instead of
            # after rounds of retransmissions. (Each notice answers a frame within the origin's
            # relay budget.) Further along the path nobody has a session with the origin.
            self.node.links.send(peer.static, peer.address,
                                 m.RelayRefused(destination), now)

    def _on_relayed(self, peer, message, now):
        origin, owner, inner = message.origin, message.origin_owner, message.inner
        if origin == self.node.identity.public_key:
            raise m.MalformedFrame("RELAYED carries a unicast frame from another server")
        host, port = peer.address
        via = Descriptor(peer.static, peer.owner, str(host), int(port))
        if not self.node.links.has_session(origin):
            # What we send it later goes the way we were reached.
            self.routes.keep(origin, via)
            self.note_owner(origin, owner)
        self.node.count("relayed_received")
        self.node.dispatch(RelayedPeer(origin, owner, via), inner, now)

