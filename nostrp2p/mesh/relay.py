"""Relaying, the way DERP carries WireGuard: when two servers cannot exchange datagrams
directly (a firewall, a NAT that does not let one in), they still hold an end-to-end session,
whose datagrams (INIT, RESP, COOKIE, DATA) a relay carries without being able to read or
change them. A datagram emitted to a RelayPath goes to the relay in a RELAY over our own
session with it (``carry``); the relay passes it on over its session with the destination, or
to a server nearer the destination's key, at most MAX_RELAY_HOPS times and never twice through
one server; the destination takes the RELAYED datagram as if it came from that relay path, and
believes it only if it authenticates as the origin the path names (links.py). What a server
passes on for others is bounded per origin (a frame budget) and by its RelayAllowance (bytes)."""

from __future__ import annotations

from nostrp2p.bounded import WindowBudget
from nostrp2p.mesh import limits, messages as m, wire
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.relay_allowance import RelayAllowance
from nostrp2p.mesh.relay_path import RelayPath, is_relayed
from nostrp2p.mesh.routing import route_id


class Relay:
    """Carries datagrams for others (forwarding, within its budget and allowance), hands those
    carried to us to the links, and sends ours through the relay a path names."""

    def __init__(self, node, links, router, reachability):
        self.node = node  # the core: identity, counters, datagrams carried to us
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
    def path_to(self, destination: bytes) -> RelayPath | None:
        """The relay path to ``destination`` that Reachability chose, or None: direct."""
        relay = self.reachability.relay_for(destination)
        if relay is None:
            return None
        return RelayPath(relay.overlay_key, destination, relay)

    def carry(self, datagram: bytes, path: RelayPath, now: float) -> None:
        """Send a datagram of our session with ``path.far`` through ``path.relay``."""
        if len(datagram) > limits.MAX_RELAYED_DATAGRAM:
            self.node.count("drop_out_oversize")
            return
        owner = self.owner_of(path.far)
        if owner is None:
            self.node.count("drop_out_relay_no_owner")  # nobody could route it towards it
            return
        ident = self.node.identity
        frame = m.Relay(path.far, owner, limits.MAX_RELAY_HOPS, (ident.public_key,),
                        ident.owner_key, datagram)
        via = path.via
        self.links.send(path.relay, via.address if via is not None else None, frame, now)
        if via is not None and datagram[1] == wire.FRAME_DATA:
            # Our session with it is up (a punch now would cross its handshake): have the relay
            # introduce us, so that later datagrams may go direct.
            self.reachability.introduce_now_and_then(path.far, via, now)

    def owner_of(self, overlay_key: bytes) -> bytes | None:
        """The owner key ``overlay_key`` claims: in its session with us, else as we learnt it."""
        peer = self.links.peers.get(overlay_key)
        if peer is not None and peer.owner is not None:
            return peer.owner
        return self.reachability.owner_of(overlay_key)

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
        ttl, path, owner, datagram = message.ttl, message.path, message.origin_owner, message.datagram
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
            self._on_relayed(peer, m.Relayed(path[0], owner, datagram), now)
            return
        known = self.table.descriptor_of(destination)
        if self.links.has_session(destination) or known is not None:
            to, address = destination, (known.address if known is not None else None)
            frame = m.Relayed(path[0], owner, datagram)
        else:
            # Pass it on to a server nearer the destination's key that we have a session with.
            nearer = [d for d in self.table.closest(route_id(destination_owner), limits.ROUTING_BUCKET_SIZE)
                      if d.overlay_key not in path and self.links.has_session(d.overlay_key)]
            if ttl <= 1 or not nearer:
                self._refuse(peer, path, destination, "drop_relay_no_route", now)
                return
            to, address = nearer[0].overlay_key, nearer[0].address
            frame = m.Relay(destination, destination_owner, ttl - 1, path + (me,), owner, datagram)
        if is_relayed(self.links.address_of(to)):
            # We reach it through a relay ourselves: a RELAY inside a RELAY would not fit.
            self._refuse(peer, path, destination, "drop_relay_no_route", now)
            return
        refusal = self.allowance.refusal(path[0], destination, len(datagram), now)
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

    # --- destination side ----------------------------------------------------------------------
    def _on_relayed(self, peer, message, now):
        origin = message.origin
        if origin == self.node.identity.public_key:
            raise m.MalformedFrame("RELAYED names us as the origin")
        host, port = peer.address
        via = Descriptor(peer.overlay_key, peer.owner, str(host), int(port))
        # Only a routing hint (for answers that must travel more than one hop): the owner the
        # origin claims in its own session replaces it (owner_of).
        self.reachability.note_owner(origin, message.origin_owner, replace=False)
        self.node.count("relayed_received")
        self.node.carried_to_us(message.datagram, RelayPath(peer.overlay_key, origin, via), now)
