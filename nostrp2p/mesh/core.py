"""OverlayNode: the sans-I/O overlay core.

Fed with ``datagram_received(datagram, address, now)`` and ``tick(now)``; answers with
``take_outgoing()`` (a list of (datagram, address)) and ``next_deadline()``. It never reads a clock
and never touches a socket, so the same object runs on the reactor (service.py) and in the
deterministic simulator (sim/). Upward events go through the ``on_broadcast`` callback:
``(payload, origin owner as claimed, mid, via)``, ``via`` being the overlay key of the
neighbour whose session handed it over (the one identity in it that is authenticated).
Unicasts and requests go up the same way, ``on_message(payload, origin owner as claimed,
via)`` and ``on_request(payload, origin owner, via, respond)``: ``via`` is the overlay key of
the end-to-end session the message arrived on (through a relay or not: a relay carries that
session's sealed datagrams and cannot stand in for its origin), our own for a message to
ourselves. The origin owner is NOBODY (32 zero bytes) when a verified binding of that owner
names another server (claims.py).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from nostrp2p.logging import Logger
from nostrp2p.mesh import crypto, limits, messages as m, wire
from nostrp2p.mesh.arq import RoundTrips
from nostrp2p.mesh.broadcast import Broadcast, PayloadTooLarge
from nostrp2p.mesh.broadcast_parts import Assembler, split
from nostrp2p.mesh.channels import Channels
from nostrp2p.mesh.claims import NOBODY, OwnerClaims
from nostrp2p.mesh.descriptor import PeerStatus
from nostrp2p.mesh.identity import Identity
from nostrp2p.mesh.links import LINK_CHECK_INTERVAL, Links
from nostrp2p.mesh.membership import Membership
from nostrp2p.mesh.reachability import Reachability
from nostrp2p.mesh.relay import Relay
from nostrp2p.mesh.relay_path import is_relayed
from nostrp2p.mesh.routing import Router
from nostrp2p.mesh.session_claims import SessionClaims
from nostrp2p.mesh.timers import Timers
from nostrp2p.mesh.traversal import Traversal
from nostrp2p.mesh.unicast import Unicast

PAYLOAD_MESSAGES = frozenset({wire.MSG_GOSSIP})


@dataclass(frozen=True)
class OverlayConfig:
    bootstrap: tuple = ()  # ((host, port), ...)
    network_password: str | bytes | None = None
    stun_servers: tuple = ()  # ((host, port), ...) of standard STUN servers to ask where we are
    relay_bytes_per_second: int = limits.RELAY_BYTES_PER_SECOND  # passed on for others; 0: none


class OverlayNode:
    log = Logger()

    def __init__(self, identity: Identity, config: OverlayConfig, rng, on_broadcast=None,
                 on_message=None, on_request=None, bindings=None):
        self.identity = identity
        self.config = config
        self.rng = rng
        self.on_broadcast = on_broadcast
        self.on_message = on_message  # (payload, origin_owner, via)
        self.on_request = on_request  # (payload, origin_owner, via, respond(reply, now, error))
        # Whether the layer above can take a unicast message now. Until it can (a server whose
        # store is still starting), one is left unacknowledged: its sender retransmits it, or
        # fails and keeps it for later, instead of taking it as delivered and losing it.
        self.takes_messages = lambda: True
        self.on_session = None  # (overlay key, owner key, address): a session was established
        self.last_now = 0.0  # latest time the caller gave us (for descriptors learnt in passing)
        self.stats = collections.Counter()
        self.timers = Timers(self._timer_failed)
        self._outgoing = []
        self._handlers = {}
        self._next_error_log = 0.0
        self._errors_unlogged = 0
        self.running = False
        self.handle(m.Ping, lambda peer, message, now: None)
        self.handle(m.Close, self._on_close)
        # Each component gets the siblings it works with; the core itself gives them sending,
        # timers, randomness, identity and counters, and hears their events.
        self.links = Links(self, crypto.network_key(config.network_password))
        # Owner bindings: ``bindings`` is the layer above's binding source (claims.py).
        self.claims = OwnerClaims(self, bindings)
        self.session_claims = SessionClaims(self, self.links, self.claims)
        self.membership = Membership(self, self.links, config.bootstrap)
        self.round_trips = RoundTrips()  # measured by unicast, read by broadcast too
        self.broadcaster = Broadcast(self, self.membership, self.round_trips)
        self.assembler = Assembler(self.count)
        self.router = Router(self, self.membership)
        self.traversal = Traversal(self, self.links)
        self.reachability = Reachability(self.count, self.router, self.membership, self.traversal.punch)
        self.router.reachability = self.reachability
        self.relay = Relay(self, self.links, self.router, self.reachability)
        self.unicaster = Unicast(self, self.links, self.router, self.reachability, self.round_trips)
        self.relay.on_refused = self.unicaster.relay_refused
        self.channels = Channels(self, self.router, self.unicaster.sender)  # follower trees

    # --- driving ---------------------------------------------------------------------------
    def start(self, now: float) -> None:
        self.last_now = now
        self.running = True
        self.membership.start(now)
        self.router.start(now)
        self.traversal.start(now)
        self.channels.start(now)
        self.timers.call_at(now + LINK_CHECK_INTERVAL, self._sweep)

    def stop(self, now: float) -> None:
        """Leave cleanly: tell neighbours, close every session, fail what is pending."""
        self.unicaster.cancel_all(now)
        self.membership.stop(now)
        for overlay_key in list(self.links.peers):
            self.links.close(overlay_key, now)
        self.running = False

    def datagram_received(self, datagram: bytes, address, now: float) -> None:
        if not self.running:
            return
        self.last_now = now
        self.stats["datagrams_received"] += 1
        self._take(datagram, address, now)

    def carried_to_us(self, datagram: bytes, path, now: float) -> None:
        """A datagram a relay carried to us, from the server ``path`` names (RELAYED): taken
        as if it came from that path, the same checks as any datagram."""
        self._take(datagram, path, now)

    def _take(self, datagram, address, now):
        if len(datagram) > limits.MAX_DATAGRAM:
            self.count("drop_oversize")
            return
        if len(datagram) < 2 or datagram[0] != wire.MAGIC:
            self.count("drop_not_overlay")
            return
        self.links.receive(datagram, address, now)

    def tick(self, now: float) -> None:
        if self.running:
            self.last_now = now
            self.timers.run_due(now)

    def next_deadline(self):
        return self.timers.next_deadline() if self.running else None

    def take_outgoing(self) -> list:
        out, self._outgoing = self._outgoing, []
        return out

    def broadcast(self, payload: bytes, now: float) -> bytes:
        """Send ``payload`` to every live server; returns its 16-byte message id (the id of the
        group of parts when it travels in parts). Raises PayloadTooLarge above
        limits.MAX_BROADCAST_MESSAGE."""
        if not isinstance(payload, bytes):
            raise TypeError("a broadcast payload is bytes")
        if len(payload) > limits.MAX_BROADCAST_MESSAGE:
            raise PayloadTooLarge(f"broadcast payload of {len(payload)} bytes exceeds "
                                  f"MAX_BROADCAST_MESSAGE ({limits.MAX_BROADCAST_MESSAGE})")
        self.last_now = now
        group = self.rng.randbytes(16)
        mids = [self.broadcaster.broadcast(part, now) for part in split(payload, group)]
        return mids[0] if len(mids) == 1 else group

    def send_unicast(self, owner: bytes, payload: bytes, now: float, done) -> bytes:
        """Deliver ``payload`` to the server of ``owner``: ``done(error, None, now)``. Raises
        PayloadTooLarge above limits.MAX_UNICAST_PAYLOAD."""
        self.last_now = now
        return self.unicaster.send(owner, payload, now, done)

    def request(self, owner: bytes, payload: bytes, now: float, done, timeout=None) -> bytes:
        """Ask the server of ``owner``: ``done(error, reply, now)``."""
        self.last_now = now
        return self.unicaster.request(owner, payload, now, done, timeout)

    def believed_owner(self, peer) -> bytes:
        """The owner a unicast from ``peer`` is said to come from: its claim, or NOBODY when
        that owner is bound to another server (claims.py)."""
        if peer.owner is not None and self.claims.accepts(peer.overlay_key, peer.owner, self.last_now):
            return peer.owner
        self.count("claim_not_believed")
        return NOBODY

    def unicast_message(self, payload: bytes, origin: bytes, via: bytes) -> None:
        self.stats["unicast_messages_delivered"] += 1
        if self.on_message is not None:
            self.on_message(payload, origin, via)

    def unicast_request(self, payload: bytes, origin: bytes, via: bytes, respond) -> None:
        if self.on_request is None:
            respond(None, self.last_now, "this server answers no requests")
        else:
            self.on_request(payload, origin, via, respond)

    def stun_received(self, datagram: bytes, address, now: float) -> None:
        """A STUN message that is not a request (the socket's owner answers those): maybe the
        answer to one of ours."""
        if self.running:
            self.last_now = now
            self.traversal.stun_received(datagram, address, now)

    def saw_descriptor(self, desc) -> None:
        """Membership met a server in passing: a routing contact."""
        self.router.saw(desc, self.last_now)

    def peers(self) -> list:
        out = []
        for overlay_key, desc in self.membership.active.items():
            peer = self.links.peers.get(overlay_key)
            out.append(PeerStatus(
                overlay_key, desc.owner, peer.address if peer else desc.address,
                overlay_key in self.broadcaster.eager, peer.last_recv if peer else 0.0,
            ))
        return out

    # --- for the layers inside -------------------------------------------------------------
    def handle(self, message_class, handler) -> None:
        """Register ``handler(peer, message, now)`` for one class of nostrp2p.mesh.messages."""
        self._handlers[message_class] = handler

    def receive_message(self, peer, plaintext: bytes, now: float) -> None:
        """A decrypted DATA frame from ``peer``: decoded and checked here, once, then handled."""
        try:
            message = m.decode(plaintext)
        except m.UnknownMessageType:
            self.count("drop_unknown_message_type")
            return
        except wire.MalformedFrame:
            self.count("drop_malformed")
            return
        if is_relayed(peer.address) and not isinstance(message, m.RELAYABLE):
            self.count("drop_not_relayable")  # its handler needs a peer at a UDP address
            return
        self.dispatch(peer, message, now)

    def dispatch(self, peer, message: m.Message, now: float) -> None:
        """Hand a typed message to its handler. A handler that finds it makes no sense (for
        all its well-formed fields) raises MalformedFrame; any other exception is a fault of
        ours, counted and logged, and the core goes on with the next message."""
        handler = self._handlers.get(type(message))
        if handler is None:
            self.count("drop_unknown_message_type")
            return
        try:
            handler(peer, message, now)
        except wire.MalformedFrame:
            self.count("drop_malformed")
        except Exception:
            self._failed("handler_failed", f"handling {type(message).__name__}", now)

    def _timer_failed(self, now: float) -> None:
        self._failed("timer_failed", "a timer callback", now)

    def _failed(self, counter: str, what: str, now: float) -> None:
        """Count a fault; log it (with its traceback) at most once per ERROR_LOG_INTERVAL."""
        self.count(counter)
        if now < self._next_error_log:
            self._errors_unlogged += 1
            return
        self.log.failure("overlay: {what} failed ({more} more faults since the last logged)",
                         what=what, more=self._errors_unlogged)
        self._errors_unlogged = 0
        self._next_error_log = now + limits.ERROR_LOG_INTERVAL

    def send(self, overlay_key, address, message, now):
        """Send ``message`` to ``overlay_key`` in our session with it, made at ``address`` if
        there is none yet, or through the relay chosen for it (a unicast fragment or ack)."""
        if isinstance(message, m.RELAYABLE):
            address = self.relay.path_to(overlay_key) or address
        self.links.send(overlay_key, address, message, now)

    def emit(self, datagram, address, kind):
        if is_relayed(address):
            self.relay.carry(datagram, address, self.last_now)
            return
        self._outgoing.append((datagram, address))
        if kind in PAYLOAD_MESSAGES:
            self.stats["payload_sent"] += 1
        else:
            self.stats["control_sent"] += 1

    def count(self, reason: str) -> None:
        self.stats[reason] += 1

    def deliver(self, gossip_payload, origin, mid, via):
        taken = self.assembler.take(gossip_payload, origin, self.last_now)
        if taken is None:
            return
        payload, group = taken
        mid = group or mid
        self.stats["delivered"] += 1
        if self.on_broadcast is not None:
            self.on_broadcast(payload, origin, mid, via)

    def needs_peer(self, overlay_key) -> bool:
        return overlay_key in self.membership.active

    def needed_peers(self):
        """The overlay keys ``needs_peer`` is true of: the links keep them up each second."""
        return list(self.membership.active)

    def peer_connected(self, peer, now):
        self.stats["sessions_established"] += 1
        if self.on_session is not None:
            self.on_session(peer.overlay_key, peer.owner, peer.address)
        self.session_claims.session_up(peer, now)  # first: the initiator's CLAIM leads
        if is_relayed(peer.address):
            self.path_changed(peer, now)
            return  # its address is not known: no routing contact, nothing to ask it
        self.reachability.reached_directly(peer.overlay_key)
        self.router.learn(peer, now)
        self.traversal.session_up(peer, now)

    def path_changed(self, peer, now):
        """``peer`` authenticated itself on another path: through a relay, what we send it in
        later sessions goes that way too."""
        path = peer.address
        if is_relayed(path) and path.via is not None:
            self.reachability.reached_us_through(peer.overlay_key, peer.owner, path.via)

    def peer_failed(self, overlay_key, now):
        self.membership.peer_failed(overlay_key, now)
        self.channels.peer_lost(overlay_key, now)  # keepalives noticed a tree neighbour gone

    def peer_unreachable(self, overlay_key, now):
        self.unicaster.peer_unreachable(overlay_key, now)
        self.membership.peer_failed(overlay_key, now)
        self.channels.peer_lost(overlay_key, now)

    def address_unreachable(self, address, now):
        self.membership.address_unreachable(address, now)

    def neighbor_up(self, overlay_key, now):
        self.broadcaster.neighbor_up(overlay_key, now)
        if len(self.membership.active) == 1:  # (re)joined: let the nearest servers know us
            self.router.announce(now)

    def neighbor_down(self, overlay_key, now):
        self.broadcaster.neighbor_down(overlay_key, now)

    def _on_close(self, peer, message, now):
        overlay_key = peer.overlay_key
        self.links.forget(overlay_key)
        if overlay_key in self.membership.active:
            self.membership.peer_failed(overlay_key, now)

    def _sweep(self, now):
        self.links.sweep(now)
        self.timers.call_at(now + LINK_CHECK_INTERVAL, self._sweep)
