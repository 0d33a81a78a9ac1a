"""HyParView partial views: a small symmetric active view (the links broadcast uses) and a larger
passive view of backups, kept fresh by periodic shuffles. Both have fixed bounds, so a node's
state and its steady control traffic do not grow with the size of the network."""

from __future__ import annotations

from nostrp2p.bounded import RecentTable
from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.descriptor import Descriptor


class Membership:
    def __init__(self, node, links, bootstrap):
        self.node = node  # the core: send, timers, rng, counters, neighbour events
        self.links = links
        self.active: dict[bytes, Descriptor] = {}
        self.passive: dict[bytes, Descriptor] = {}
        self.requested: dict[bytes, float] = {}  # NEIGHBOR requests in flight -> deadline
        # failed peers -> (descriptor, retries so far), and the same for retries in flight
        self.suspects = RecentTable(limits.SUSPECT_MAX)
        self.retrying = RecentTable(limits.SUSPECT_MAX)
        self.bootstrap = list(bootstrap)[: limits.MAX_BOOTSTRAP]
        self.next_rejoin = 0.0
        self.next_suspect_retry = 0.0
        self.next_topup = 0.0
        node.handle(m.Join, self._on_join)
        node.handle(m.JoinAccept, self._on_join_accept)
        node.handle(m.ForwardJoin, self._on_forward_join)
        node.handle(m.Neighbor, self._on_neighbor)
        node.handle(m.NeighborReply, self._on_neighbor_reply)
        node.handle(m.Disconnect, self._on_disconnect)
        node.handle(m.Shuffle, self._on_shuffle)
        node.handle(m.ShuffleReply, self._on_shuffle_reply)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self, now):
        self._join(now)
        rng = self.node.rng
        self.node.timers.call_at(now + rng.uniform(0.5, 1.0) * limits.MAINTENANCE_INTERVAL, self._maintain)
        self.node.timers.call_at(now + rng.uniform(0.5, 1.0) * limits.SHUFFLE_INTERVAL, self._shuffle)

    def stop(self, now):
        for overlay_key in list(self.active):
            self.node.send(overlay_key, None, m.Disconnect(), now)

    def _join(self, now):
        if self.bootstrap:
            address = self.node.rng.choice(self.bootstrap)
            self.links.send_to_address(address, m.Join(), now)
        self.next_rejoin = now + limits.REJOIN_INTERVAL

    # --- view changes ----------------------------------------------------------------------
    def _descriptor(self, peer) -> Descriptor:
        host, port = peer.address
        return Descriptor(peer.overlay_key, peer.owner, str(host), int(port))

    def _add_active(self, desc: Descriptor, now, fresh_peer=False):
        if desc.overlay_key == self.node.identity.public_key:
            return
        if desc.overlay_key in self.active:
            if fresh_peer:
                # It asks to join although we hold it as a neighbour: it restarted and lost its
                # state, so it gets the catch-up announcements a new neighbour gets.
                self.node.neighbor_up(desc.overlay_key, now)
            return
        if len(self.active) >= limits.ACTIVE_VIEW_MAX:
            victim = self.node.rng.choice(list(self.active))
            self.node.send(victim, None, m.Disconnect(), now)
            self._add_passive(self._remove_active(victim, now))
        self.active[desc.overlay_key] = desc
        self.retrying.pop(desc.overlay_key, None)
        self.passive.pop(desc.overlay_key, None)
        self.suspects.pop(desc.overlay_key, None)
        self.requested.pop(desc.overlay_key, None)
        self.node.neighbor_up(desc.overlay_key, now)

    def _remove_active(self, overlay_key, now):
        desc = self.active.pop(overlay_key)
        self.node.neighbor_down(overlay_key, now)
        return desc

    def _add_passive(self, desc: Descriptor):
        if desc.overlay_key == self.node.identity.public_key:
            return
        self.node.saw_descriptor(desc)  # every server met in passing is a routing contact
        if desc.overlay_key in self.active or desc.overlay_key in self.passive:
            return
        if len(self.passive) >= limits.PASSIVE_VIEW_MAX:
            del self.passive[self.node.rng.choice(list(self.passive))]
        self.passive[desc.overlay_key] = desc

    def peer_failed(self, overlay_key, now):
        """The link layer lost the peer (timeout, unreachable): drop it and refill."""
        desc = self.active.get(overlay_key) or self.passive.get(overlay_key)
        if desc is None and overlay_key in self.retrying:
            desc = self.retrying[overlay_key][0]
        if overlay_key in self.active:
            self._remove_active(overlay_key, now)
        self.passive.pop(overlay_key, None)
        self.requested.pop(overlay_key, None)
        _, attempts = self.retrying.pop(overlay_key, (None, 0))
        if desc is not None and attempts < limits.SUSPECT_ATTEMPTS:
            self.suspects.keep(overlay_key, (desc, attempts))
        self._refill(now)

    def address_unreachable(self, address, now):
        if not self.active and address in self.bootstrap:
            self.next_rejoin = min(self.next_rejoin, now + limits.MAINTENANCE_INTERVAL)

    def _refill(self, now):
        for overlay_key, deadline in list(self.requested.items()):
            if deadline <= now:
                del self.requested[overlay_key]
        wanted = limits.ACTIVE_VIEW_MAX - len(self.active) - len(self.requested)
        candidates = [d for s, d in self.passive.items() if s not in self.requested]
        if wanted <= 0 or not candidates:
            return
        desc = self.node.rng.choice(candidates)
        self._ask_neighbor(desc, not self.active, now)

    def _ask_neighbor(self, desc, high, now):
        self.requested[desc.overlay_key] = now + limits.NEIGHBOR_REQUEST_TIMEOUT
        self.node.send(desc.overlay_key, desc.address, m.Neighbor(high), now)

    def _maintain(self, now):
        if not self.active or now >= self.next_topup:
            # An empty view is refilled at once; a merely short one now and then, since in a
            # full network most low-priority requests are refused.
            self._refill(now)
            self.next_topup = now + limits.TOPUP_INTERVAL
        if not self.active and not self.requested and now >= self.next_rejoin:
            self._join(now)
        if self.suspects and now >= self.next_suspect_retry:
            # Retrying an old neighbour now and then is what reconnects two halves of a
            # healed partition; asking with high priority makes it a real link.
            overlay_key = self.node.rng.choice(list(self.suspects))
            desc, attempts = self.suspects.pop(overlay_key)
            if overlay_key not in self.active and overlay_key not in self.requested:
                self.retrying.keep(overlay_key, (desc, attempts + 1))
                self._ask_neighbor(desc, True, now)
            self.next_suspect_retry = now + limits.SUSPECT_RETRY_INTERVAL
        self.node.timers.call_at(now + limits.MAINTENANCE_INTERVAL, self._maintain)

    # --- handlers --------------------------------------------------------------------------
    def _on_join(self, peer, message, now):
        desc = self._descriptor(peer)
        self._add_active(desc, now, fresh_peer=True)
        self.node.send(peer.overlay_key, None, m.JoinAccept(), now)
        for overlay_key in list(self.active):
            if overlay_key != peer.overlay_key:
                self.node.send(overlay_key, None, m.ForwardJoin(desc, limits.ACTIVE_RANDOM_WALK), now)

    def _on_join_accept(self, peer, message, now):
        self._add_active(self._descriptor(peer), now)

    def _on_forward_join(self, peer, message, now):
        desc, ttl = message.joiner, message.ttl
        if desc.overlay_key == self.node.identity.public_key:
            return
        if ttl == 0 or len(self.active) <= 1:
            if desc.overlay_key not in self.active and desc.overlay_key not in self.requested:
                self._ask_neighbor(desc, True, now)
            return
        if ttl == limits.PASSIVE_RANDOM_WALK:
            self._add_passive(desc)
        others = [s for s in self.active if s != peer.overlay_key and s != desc.overlay_key]
        if others:
            self.node.send(self.node.rng.choice(others), None, m.ForwardJoin(desc, ttl - 1), now)
        elif desc.overlay_key not in self.active:
            self._ask_neighbor(desc, True, now)

    def _on_neighbor(self, peer, message, now):
        accept = (message.high_priority or len(self.active) < limits.ACTIVE_VIEW_MAX
                  or peer.overlay_key in self.active)
        if accept:
            self._add_active(self._descriptor(peer), now, fresh_peer=True)
        else:
            self._add_passive(self._descriptor(peer))
        self.node.send(peer.overlay_key, None, m.NeighborReply(accept), now)

    def _on_neighbor_reply(self, peer, message, now):
        accepted = message.accepted
        asked = self.requested.pop(peer.overlay_key, None) is not None
        if accepted and asked:
            self._add_active(self._descriptor(peer), now)
        elif accepted and peer.overlay_key not in self.active:
            # We did not ask (or gave up asking): undo the link the other side just made.
            self.node.send(peer.overlay_key, None, m.Disconnect(), now)
        elif not accepted:
            # No immediate retry: in a network where every view is full that would be an
            # endless ask-and-refuse loop; maintenance asks again later.
            self._add_passive(self._descriptor(peer))

    def _on_disconnect(self, peer, message, now):
        if peer.overlay_key in self.active:
            self._add_passive(self._remove_active(peer.overlay_key, now))
            self._refill(now)

    def _sample(self):
        rng = self.node.rng
        active = list(self.active.values())
        passive = list(self.passive.values())
        return rng.sample(active, min(limits.SHUFFLE_ACTIVE, len(active))) + rng.sample(
            passive, min(limits.SHUFFLE_PASSIVE, len(passive))
        )

    def _shuffle(self, now):
        if self.active:
            target = self.node.rng.choice(list(self.active))
            sample = tuple(d for d in self._sample() if d.overlay_key != target)
            self.node.send(target, None, m.Shuffle(None, limits.ACTIVE_RANDOM_WALK, sample), now)
        jitter = self.node.rng.uniform(0.8, 1.2)
        self.node.timers.call_at(now + limits.SHUFFLE_INTERVAL * jitter, self._shuffle)

    def _on_shuffle(self, peer, message, now):
        origin = self._descriptor(peer) if message.origin is None else message.origin
        ttl, sample = message.ttl, message.sample
        if origin.overlay_key == self.node.identity.public_key:
            return
        others = [s for s in self.active if s != peer.overlay_key and s != origin.overlay_key]
        if ttl > 1 and others:
            forward = m.Shuffle(origin, ttl - 1, sample)
            self.node.send(self.node.rng.choice(others), None, forward, now)
            return
        passive = list(self.passive.values())
        reply = self.node.rng.sample(passive, min(len(sample), len(passive)))
        self.node.send(origin.overlay_key, origin.address, m.ShuffleReply(tuple(reply)), now)
        for desc in sample:
            self._add_passive(desc)
        self._add_passive(origin)

    def _on_shuffle_reply(self, peer, message, now):
        for desc in message.sample:
            self._add_passive(desc)
