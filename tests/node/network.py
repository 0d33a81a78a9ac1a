"""An in-process overlay for node tests: servers keyed by owner key, every message delivered at
once, and a record of who sent what to whom.

Each server has an overlay key of its own (its sessions' authenticated identity, distinct from
the owner key it claims), handed to the receiver as ``via`` with everything it sends; a hostile
server may claim any owner key as the origin of what it sends.

A server can be made unreachable (its unicasts and requests fail with UnicastFailed, broadcasts
pass it by) or isolated (it has no neighbours: its broadcasts reach nobody, and nobody's reach
it), to model a server that is away or has just started.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

from twisted.internet.defer import Deferred, fail, maybeDeferred, succeed
from zope.interface import implementer

from nostrp2p.node.messages import decode
from nostrp2p.node.overlay import IOverlay, UnicastFailed


@dataclass(frozen=True)
class Sent:
    time: float
    origin: bytes
    destination: Optional[bytes]  # None for a broadcast
    payload: bytes
    delivered: bool

    @property
    def message(self):
        return decode(self.payload)


class MemoryNetwork:
    def __init__(self, clock):
        self.clock = clock
        self.overlays: dict[bytes, MemoryOverlay] = {}
        self.unreachable: set[bytes] = set()
        self.isolated: set[bytes] = set()
        self.hanging: set[bytes] = set()  # unicasts to these wait until time_out_hanging()
        self._hung: list = []
        self.broadcasts: list[Sent] = []
        self.channel_posts: list[Sent] = []  # destination: None, as for broadcasts
        self.followers: dict[bytes, set[bytes]] = {}  # author -> owners following it
        self.unicasts: list[Sent] = []
        self.requests: list[Sent] = []

    def join(self, owner: bytes) -> "MemoryOverlay":
        overlay = MemoryOverlay(self, owner)
        self.overlays[owner] = overlay
        return overlay

    def leave(self, owner: bytes) -> None:
        del self.overlays[owner]

    def _target(self, origin: bytes, destination: bytes):
        if (destination in self.unreachable or origin in self.isolated
                or destination in self.isolated):
            return None
        overlay = self.overlays.get(destination)
        return overlay if overlay is not None and overlay.handlers else None

    def time_out_hanging(self) -> None:
        """Every hanging unicast fails, as the overlay's timeout would make it."""
        hung, self._hung = self._hung, []
        for waiting in hung:
            waiting.errback(UnicastFailed("timed out"))

    def unicasts_to(self, destination: bytes, delivered: bool = True) -> list[Sent]:
        return [s for s in self.unicasts
                if s.destination == destination and s.delivered == delivered]


@implementer(IOverlay)
class MemoryOverlay:
    def __init__(self, network: MemoryNetwork, owner: bytes):
        self.network = network
        self.owner = owner
        self.overlay_key = hashlib.sha256(b"overlay key of " + owner).digest()
        self.handlers = None

    def set_handlers(self, on_broadcast, on_message, on_request) -> None:
        self.handlers = (on_broadcast, on_message, on_request)

    def set_channel_handler(self, on_post) -> None:
        self.on_channel_post = on_post

    def follow(self, owner_key: bytes) -> None:
        self.network.followers.setdefault(owner_key, set()).add(self.owner)

    def unfollow(self, owner_key: bytes) -> None:
        self.network.followers.get(owner_key, set()).discard(self.owner)

    def publish_to_followers(self, payload: bytes, author: Optional[bytes] = None) -> None:
        """Down this server's channel to the servers following its owner (``author``: what a
        hostile root may name as the channel instead)."""
        net = self.network
        receivers = [net.overlays[key] for key in net.followers.get(self.owner, ())
                     if net._target(self.owner, key) is not None]
        net.channel_posts.append(Sent(net.clock.seconds(), self.owner, None, payload,
                                      bool(receivers)))
        for overlay in receivers:
            overlay.on_channel_post(author or self.owner, payload)

    def neighbours(self) -> list:
        """Every other reachable server: in this network all are neighbours."""
        net = self.network
        if self.owner in net.isolated:
            return []
        return [key for key, o in net.overlays.items()
                if key != self.owner and o.handlers and key not in net.isolated]

    def broadcast(self, payload: bytes, claimed_origin: Optional[bytes] = None) -> None:
        """``claimed_origin``: what a hostile server may write as the broadcast's origin (the
        neighbours still see it come from this server)."""
        net = self.network
        receivers = [] if self.owner in net.isolated else [
            o for key, o in net.overlays.items()
            if key != self.owner and o.handlers and key not in net.unreachable
            and key not in net.isolated
        ]
        net.broadcasts.append(Sent(net.clock.seconds(), self.owner, None, payload, bool(receivers)))
        for overlay in receivers:
            overlay.handlers[0](payload, claimed_origin or self.owner, self.overlay_key)

    def send(self, owner_key: bytes, payload: bytes, claimed_origin: Optional[bytes] = None):
        """``claimed_origin``: the owner key a hostile server may claim (as it can in its
        handshake, or as a relay writing RELAYED); the session is still this server's."""
        net = self.network
        if owner_key in net.hanging:
            net.unicasts.append(Sent(net.clock.seconds(), self.owner, owner_key, payload, False))
            waiting = Deferred()
            net._hung.append(waiting)
            return waiting
        target = net._target(self.owner, owner_key)
        net.unicasts.append(
            Sent(net.clock.seconds(), self.owner, owner_key, payload, target is not None))
        if target is None:
            return fail(UnicastFailed(f"{owner_key.hex()[:8]} is unreachable"))
        target.handlers[1](payload, claimed_origin or self.owner, self.overlay_key)
        return succeed(None)

    def request(self, owner_key: bytes, payload: bytes, claimed_origin: Optional[bytes] = None):
        net = self.network
        target = net._target(self.owner, owner_key)
        net.requests.append(
            Sent(net.clock.seconds(), self.owner, owner_key, payload, target is not None))
        if target is None:
            return fail(UnicastFailed(f"{owner_key.hex()[:8]} is unreachable"))
        return maybeDeferred(target.handlers[2], payload, claimed_origin or self.owner,
                             self.overlay_key)
