"""Plumtree broadcast over the active view: payloads travel an eager spanning tree (duplicates
prune the link that brought them), every other neighbour gets batched IHAVE announcements, and a
node that hears of a message it lacks grafts the announcer into its tree (a server with very few
neighbours announces on its eager links too: see ANNOUNCE_EAGER_UP_TO). A new neighbour is told
the ids of recent messages, which is how a node that was briefly away catches up.

A broadcast's id is a hash over its origin, salt and payload (messages.gossip_id), checked at
every hop before the id is believed: junk sent under a real broadcast's id is dropped and
counted (``drop_gossip_wrong_id``) and changes nothing, so it cannot stand in for the real one,
prune the servers that bring it, or answer a graft for it."""

from __future__ import annotations

import collections

from nostrp2p.bounded import RecentTable
from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.graft_timeout import graft_timeout


class PayloadTooLarge(ValueError):
    """A payload above what the overlay carries in one message: MAX_BROADCAST_MESSAGE for a
    broadcast, MAX_UNICAST_PAYLOAD for a unicast or request."""


class Broadcast:
    def __init__(self, node, membership, round_trips):
        self.node = node  # the core: send, timers, rng, counters, delivery upward
        self.active = membership.active  # our neighbours (the dict itself: it changes)
        self.round_trips = round_trips  # measured by unicast: how long an eager copy may take
        # Ordered sets (dicts of keys): sends go out in the order the peers came, so a
        # simulated run repeats itself whatever the process's hash seed (a set of bytes
        # iterates in hash order, which differs from one process to the next).
        self.eager: dict[bytes, None] = {}
        self.lazy: dict[bytes, None] = {}
        self.seen = RecentTable(limits.SEEN_CACHE_MAX)  # mid -> when first received
        # mid -> (origin owner, salt, payload, hops, time received)
        self.store = RecentTable(limits.MESSAGE_STORE_MAX)
        self.lazy_queue: dict[bytes, collections.deque] = {}
        # mid announced but not received -> its announcers
        self.missing = RecentTable(limits.MISSING_MAX, self._missing_forgotten)
        self.graft_timers = {}  # mid in missing -> the call of its next graft
        self.flush_scheduled = False
        node.handle(m.Gossip, self._on_gossip)
        node.handle(m.IHave, self._on_ihave)
        node.handle(m.Graft, self._on_graft)
        node.handle(m.Prune, self._on_prune)

    # --- API -------------------------------------------------------------------------------
    def broadcast(self, payload: bytes, now: float) -> bytes:
        if not isinstance(payload, bytes):
            raise TypeError("a broadcast payload is bytes")
        if len(payload) > limits.MAX_BROADCAST_PAYLOAD:
            raise PayloadTooLarge(
                f"broadcast payload of {len(payload)} bytes exceeds MAX_BROADCAST_PAYLOAD "
                f"({limits.MAX_BROADCAST_PAYLOAD})"
            )
        origin = self.node.identity.owner_key
        salt = self.node.rng.randbytes(m.GOSSIP_SALT_SIZE)
        mid = m.gossip_id(origin, salt, payload)
        self._remember(mid, origin, salt, payload, 0, now)
        self._push(mid, origin, salt, payload, 0, None, now)
        return mid

    # --- neighbours ------------------------------------------------------------------------
    def neighbor_up(self, overlay_key, now):
        self.lazy.pop(overlay_key, None)
        self.eager[overlay_key] = None
        self._expire_store(now)
        recent = list(self.store)[-limits.RECOVERY_ANNOUNCE_MAX:]
        for start in range(0, len(recent), limits.MAX_IHAVE_IDS):
            self.node.send(overlay_key, None, m.IHave(tuple(recent[start:start + limits.MAX_IHAVE_IDS])), now)

    def neighbor_down(self, overlay_key, now):
        self.eager.pop(overlay_key, None)
        self.lazy.pop(overlay_key, None)
        self.lazy_queue.pop(overlay_key, None)

    # --- handlers --------------------------------------------------------------------------
    def _on_gossip(self, peer, message, now):
        if not message.id_matches():
            # Before anything else: a wrong id must not be seen as a duplicate (pruning the
            # sender), nor enter the seen cache (hiding the real broadcast).
            self.node.count("drop_gossip_wrong_id")
            return
        mid, origin, salt, payload = message.mid, message.origin_owner, message.salt, message.payload
        hops = message.hops
        sender = peer.overlay_key
        if mid in self.seen:
            self.node.count("duplicate_gossip")
            if sender in self.eager:
                self.eager.pop(sender, None)
                self.lazy[sender] = None
                self.node.send(sender, None, m.Prune(), now)
            return
        if sender in self.active:
            self.lazy.pop(sender, None)
            self.eager[sender] = None
        if self.missing.pop(mid, None) is not None:
            self.graft_timers.pop(mid).cancel()  # it came: no graft for it
        self._remember(mid, origin, salt, payload, hops, now)
        self.node.deliver(payload, origin, mid, sender)
        self._push(mid, origin, salt, payload, _next_hop(hops), sender, now)

    def _on_ihave(self, peer, message, now):
        for mid in message.mids:
            if mid in self.seen:
                continue
            announcers = self.missing.get(mid)
            if announcers is None:
                announcers = []
                self.missing.keep(mid, announcers)
                # Spread over [1, 1+GRAFT_JITTER] x timeout: when a piece of the tree is cut off, its
                # first graft usually reconnects the whole piece before the others fire, so
                # fewer redundant links (and later duplicates) are made.
                timeout = graft_timeout(self.round_trips.measured(peer.overlay_key))
                delay = timeout * (1.0 + limits.GRAFT_JITTER * self.node.rng.random())
                self.graft_timers[mid] = self.node.timers.call_at(now + delay, self._graft_timer, mid)
            if len(announcers) < limits.MISSING_ANNOUNCERS_MAX and peer.overlay_key not in announcers:
                announcers.append(peer.overlay_key)

    def _missing_forgotten(self, mid, announcers):
        """The bound pushed out an announced id: its graft goes with it."""
        self.node.count("missing_table_full")
        self.graft_timers.pop(mid).cancel()

    def _graft_timer(self, now, mid):
        announcers = self.missing.get(mid)
        if announcers is None or mid in self.seen:
            return
        active = self.active
        while announcers:
            announcer = announcers.pop(0)
            if announcer in active:
                self.lazy.pop(announcer, None)
                self.eager[announcer] = None
                self.node.send(announcer, None, m.Graft(mid), now)
                self.node.count("graft_sent")
                self.graft_timers[mid] = self.node.timers.call_at(now + limits.GRAFT_RETRY,
                                                                  self._graft_timer, mid)
                if not announcers:
                    announcers.append(announcer)  # nobody else said so: ask it again next time
                return
        del self.missing[mid], self.graft_timers[mid]

    def _on_graft(self, peer, message, now):
        mid = message.mid
        if peer.overlay_key in self.active:
            self.lazy.pop(peer.overlay_key, None)
            self.eager[peer.overlay_key] = None
        stored = self.store.get(mid)
        if stored is not None:
            origin, salt, payload, hops, _ = stored  # what hashes to ``mid``: it was checked
            self._send_gossip(peer.overlay_key, mid, origin, salt, payload, _next_hop(hops), now)

    def _on_prune(self, peer, message, now):
        if peer.overlay_key in self.eager:
            self.eager.pop(peer.overlay_key, None)
            self.lazy[peer.overlay_key] = None

    # --- internals -------------------------------------------------------------------------
    def _send_gossip(self, overlay_key, mid, origin, salt, payload, hops, now):
        self.node.send(overlay_key, None, m.Gossip(mid, origin, salt, hops, payload), now)

    def _push(self, mid, origin, salt, payload, hops, sender, now):
        for overlay_key in list(self.eager):
            if overlay_key != sender:
                self._send_gossip(overlay_key, mid, origin, salt, payload, hops, now)
        # With few neighbours, the lazy links that would announce what a lost eager push carried
        # may not exist (two servers: each the other's only link): the eager links get the
        # announcements too. Above that, lazy links carry them, and eager ones are spared.
        announced = self.lazy if len(self.active) > limits.ANNOUNCE_EAGER_UP_TO else \
            (*self.lazy, *self.eager)
        for overlay_key in announced:
            if overlay_key != sender:
                queue = self.lazy_queue.get(overlay_key)
                if queue is None:
                    queue = self.lazy_queue[overlay_key] = collections.deque(maxlen=limits.LAZY_QUEUE_MAX)
                queue.append(mid)
        if self.lazy_queue and not self.flush_scheduled:
            self.flush_scheduled = True
            self.node.timers.call_at(now + limits.LAZY_FLUSH_INTERVAL, self._flush)

    def _flush(self, now):
        self.flush_scheduled = False
        queues, self.lazy_queue = self.lazy_queue, {}
        for overlay_key, queue in queues.items():
            if overlay_key not in self.active:
                continue
            ids = list(queue)
            for start in range(0, len(ids), limits.MAX_IHAVE_IDS):
                self.node.send(overlay_key, None, m.IHave(tuple(ids[start:start + limits.MAX_IHAVE_IDS])), now)

    def _remember(self, mid, origin, salt, payload, hops, now):
        seen = self.seen
        seen.keep(mid, now)
        while seen and seen.oldest()[1] < now - limits.SEEN_TTL:
            seen.popitem(last=False)
        self.store.keep(mid, (origin, salt, payload, hops, now))
        self._expire_store(now)

    def _expire_store(self, now):
        store = self.store
        while store and store.oldest()[1][-1] < now - limits.MESSAGE_STORE_TTL:
            store.popitem(last=False)


def _next_hop(hops):
    """The hop count forwarded: capped, since it is not covered by the id and a forwarder
    that wrote MAX_HOPS must not make the next hop's copy malformed (and so suppress it)."""
    return min(hops + 1, limits.MAX_HOPS)
