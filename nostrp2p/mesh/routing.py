"""Finding the server of an owner key: a Kademlia XOR table over a hash of owner keys, filled
from every server this one meets (sessions, membership samples, lookup answers), and iterative
lookups through it. A server keeps about k * log2(N) contacts and a lookup takes about log2(N)
steps, whatever the size of the network.

A server looking itself up also names its relays: its active neighbours, which hold sessions
with it (kept open by keepalives, so through its NAT). The servers it asks pass them on with
its descriptor, and whoever cannot reach it directly has relays that can.

Owner bindings (claims.py) decide which contact serves an owner: the server its newest verified
binding names, or, while nobody has shown a binding for that owner, the newest claimant. A
lookup that meets only unbound claims asks a few more of the nearest servers for a bound one
before it settles; FOUND carries the binding of the sought owner's descriptor."""

from __future__ import annotations

import collections
import functools
import hashlib
from dataclasses import replace

from nostrp2p.bounded import RecentTable
from nostrp2p.mesh import limits, messages as m, wire
from nostrp2p.mesh.descriptor import Descriptor


@functools.lru_cache(maxsize=limits.ROUTE_IDS_CACHED)
def route_id(owner: bytes) -> int:
    """Where an owner key sits in the XOR space (hashed, so keys cannot be ground to crowd one
    server's neighbourhood cheaply). Cached: lookups rank their candidates by it at every step."""
    return int.from_bytes(hashlib.blake2b(owner, digest_size=32, person=b"np2p-route-v1").digest(), "big")


class RoutingTable:
    def __init__(self, own_owner: bytes, claims=None):
        self.own = route_id(own_owner)
        self.own_owner = own_owner
        self.claims = claims  # OwnerClaims: who may serve a bound owner (None: nobody is bound)
        # bucket index -> OrderedDict overlay_key -> (descriptor, route id, last seen), oldest first
        self.buckets: dict[int, collections.OrderedDict] = {}
        self.by_owner: dict[bytes, bytes] = {}  # owner -> overlay_key of its newest contact

    def __len__(self):
        return sum(len(b) for b in self.buckets.values())

    def add(self, desc: Descriptor, now: float) -> None:
        if desc.owner == self.own_owner:
            return
        desc = desc.unbound()  # its binding, if verified, is kept by the claims
        rid = route_id(desc.owner)
        index = (rid ^ self.own).bit_length() - 1
        if index < 0:
            return
        bucket = self.buckets.setdefault(index, collections.OrderedDict())
        if desc.overlay_key in bucket:
            bucket.move_to_end(desc.overlay_key)
        elif len(bucket) >= limits.ROUTING_BUCKET_SIZE:
            oldest_static, (oldest, _, seen) = next(iter(bucket.items()))
            if now - seen < limits.ROUTING_STALE_AFTER:
                return  # Kademlia keeps long-lived contacts: they are the likeliest to stay
            self.remove(oldest_static)
            bucket = self.buckets.setdefault(index, collections.OrderedDict())
        bucket[desc.overlay_key] = (desc, rid, now)
        self.by_owner[desc.owner] = desc.overlay_key

    def remove(self, overlay_key: bytes) -> None:
        for index, bucket in list(self.buckets.items()):
            entry = bucket.pop(overlay_key, None)
            if entry is not None:
                if self.by_owner.get(entry[0].owner) == overlay_key:
                    del self.by_owner[entry[0].owner]
                if not bucket:
                    del self.buckets[index]
                return

    def descriptor_of(self, overlay_key: bytes):
        for bucket in self.buckets.values():
            entry = bucket.get(overlay_key)
            if entry is not None:
                return entry[0]
        return None

    def contact_for(self, owner: bytes, now: float):
        """The contact serving ``owner``: the server of its newest verified binding, and only
        that one while the binding lasts; else the newest unbound claimant."""
        bound = self.claims.bound_key(owner, now) if self.claims is not None else None
        overlay_key = bound if bound is not None else self.by_owner.get(owner)
        if overlay_key is None:
            return None
        index = (route_id(owner) ^ self.own).bit_length() - 1
        entry = self.buckets.get(index, {}).get(overlay_key)
        return entry[0] if entry else None

    def closest(self, target: int, count: int, exclude=()) -> list[Descriptor]:
        """The ``count`` contacts nearest ``target``, nearest first. Only the buckets that can
        hold them are read: with d the bucket ``target`` falls in, bucket d's contacts are
        nearer the target than 2^d, those of the buckets below d between 2^d and 2^(d+1), and
        those of each bucket j above d between 2^j and 2^(j+1): so the buckets are taken in that
        order until ``count`` are found (a lookup and a channel join ask this on every step)."""
        buckets = self.buckets
        d = (target ^ self.own).bit_length() - 1
        out = []

        def take(contacts):
            group = [(rid ^ target, desc) for desc, rid, _ in contacts if desc.overlay_key not in exclude]
            group.sort(key=_distance)
            out.extend(group)

        if d in buckets:
            take(buckets[d].values())
        if len(out) < count:
            take([c for index, bucket in buckets.items() if index < d for c in bucket.values()])
        if len(out) < count:
            for index in sorted(index for index in buckets if index > d):
                take(buckets[index].values())
                if len(out) >= count:
                    break
        return [desc for _, desc in out[:count]]


def _distance(entry):
    return entry[0]


class Lookup:
    """One iterative lookup of an owner key; ``done(descriptor or None)`` is called once."""

    def __init__(self, router, lookup_id: int, owner: bytes, now: float):
        self.router = router
        self.id = lookup_id
        self.owner = owner
        self.target = route_id(owner)
        self.candidates: dict[bytes, Descriptor] = {}
        # overlay key -> its owner's XOR distance to the target, worked out once: the candidates
        # are ranked at every step (a key function per candidate per step was 3% of the
        # simulator's CPU at 10,000 servers)
        self.distance: dict[bytes, int] = {}
        self.asked: set[bytes] = set()
        self.in_flight: dict[bytes, float] = {}  # overlay_key -> deadline
        self.resent: set[bytes] = set()  # asked twice already (one datagram may be lost)
        self.queries = 0
        self.waiters = []
        self.finished = False
        # Found, its waiters told, and still asking (a few more) for the relays it named: only
        # if it does not answer our handshake within LOOKUP_RELAY_GRACE (``waiting_for_answer``).
        self.located: Descriptor | None = None
        self.seeking_relays = False
        self.waiting_for_answer = False
        self.relay_queries = 0
        # Only an unbound claim met so far: asking a few more for a bound one before settling.
        self.unbound: Descriptor | None = None
        self.bound_queries = 0
        for desc in router.table.closest(self.target, limits.ROUTING_BUCKET_SIZE * 2):
            if desc.owner != owner:  # we ask about it, not it: it may not be reachable
                self._candidate(desc)

    def step(self, now: float) -> None:
        if self.finished:
            return
        for overlay_key, deadline in list(self.in_flight.items()):
            if deadline > now:
                continue
            desc = self.candidates.get(overlay_key)
            if overlay_key not in self.resent and desc is not None:
                self.resent.add(overlay_key)
                self._ask(desc, now)
            else:
                del self.in_flight[overlay_key]
                self.candidates.pop(overlay_key, None)
                self.distance.pop(overlay_key, None)
        candidates = self.candidates
        ranked = [candidates[k] for k in sorted(candidates, key=self.distance.__getitem__)]
        # Holding only an unbound claim, the lookup goes on converging on the owner's key until
        # the nearest servers it knows of have answered: a bound server announces itself to
        # those, so they are the ones that would know its binding. (A fixed number of extra
        # queries was not enough: asked from far away, they need not reach that neighbourhood.)
        nearest = ranked[: limits.LOOKUP_BOUND_QUERIES]
        if (self.located is None and self.unbound is not None and not self.in_flight
                and all(d.overlay_key in self.asked for d in nearest)):
            # Asked the nearest for a bound claim: settle on the unbound one, and ask on for
            # the relays it named as for any other.
            self._tell(self.unbound, now)
        closest = ranked[: limits.ROUTING_BUCKET_SIZE]
        for desc in closest:
            if len(self.in_flight) >= limits.LOOKUP_PARALLELISM:
                break
            if desc.overlay_key in self.asked or self.queries >= limits.LOOKUP_MAX_QUERIES:
                continue
            if self.located is not None:
                if not self.seeking_relays or self.relay_queries >= limits.LOOKUP_RELAY_QUERIES:
                    break
                self.relay_queries += 1
                self.router.node.count("lookup_relay_queries")
            elif self.unbound is not None:
                if desc not in nearest:
                    break
                self.bound_queries += 1
                self.router.node.count("lookup_bound_queries")
            self.asked.add(desc.overlay_key)
            self.queries += 1
            self._ask(desc, now)
        if not self.in_flight and not self.waiting_for_answer:
            self.finish(self.located or self.unbound, now)

    def _ask(self, desc, now):
        # Half the query timeout per try: one resend fits in it (a lost FIND or FOUND).
        wait = limits.LOOKUP_QUERY_TIMEOUT / 2
        self.in_flight[desc.overlay_key] = now + wait
        relays = None
        if self.owner == self.router.node.identity.owner_key:
            relays = tuple(self.router.own_relays())
        find = m.Find(self.id, self.owner, relays)
        self.router.node.send(desc.overlay_key, desc.address, find, now)
        self.router.node.timers.call_at(now + wait, self._timer)

    def _timer(self, now):
        self.step(now)

    def answered(self, overlay_key: bytes, found: list[Descriptor], now: float,
                 with_relays: bool = False) -> None:
        """``overlay_key`` answered ``found``; ``with_relays``: and the relays the sought server
        named for itself."""
        if self.finished or self.in_flight.pop(overlay_key, None) is None:
            return
        own = self.router.node.identity.public_key
        ours = self.owner == self.router.node.identity.owner_key  # an announce: no contact sought
        claims = self.router.node.claims
        for desc in found:
            if desc.overlay_key == own:
                continue
            if desc.owner == self.owner and not ours:
                if not claims.accepts(desc.overlay_key, desc.owner, now):
                    self.router.node.count("claim_not_believed")  # bound to another server
                    continue
                if not claims.is_bound(desc.overlay_key, desc.owner, now):
                    self.unbound = self.unbound or desc
                    continue
            if desc.owner == self.owner:
                if with_relays:
                    self.finish(desc, now)
                    return
                # Its waiters need not wait; the servers nearest its key, which it announced
                # itself to, are asked on for its relays, in case it cannot be reached directly.
                self._tell(desc, now)
                continue
            if desc.overlay_key not in self.asked and desc.overlay_key not in self.candidates:
                self._candidate(desc)
        self.step(now)

    def _candidate(self, desc) -> None:
        self.candidates[desc.overlay_key] = desc
        self.distance[desc.overlay_key] = route_id(desc.owner) ^ self.target

    def finish(self, desc, now) -> None:
        if self.finished:
            return
        self.finished = True
        if self.router.lookups.get(self.owner) is self:
            del self.router.lookups[self.owner]
        self._tell(desc, now)

    def _tell(self, desc, now) -> None:
        if self.located is not None:
            return
        if desc is not None and desc is self.unbound:
            self.router.settled_unbound.keep(self.owner, now + limits.UNBOUND_SETTLED_FOR)
        self.located = desc
        if self.owner != self.router.node.identity.owner_key:  # not our own announce
            self.router.recent_queries.append(self.queries)
        if desc is not None:
            self.router.table.add(desc, now)
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter(desc, now)  # each starts its handshake with it, if it means to reach it
        if desc is not None and not self.finished:
            self._relays_if_unanswered(desc, now)

    def _relays_if_unanswered(self, desc, now) -> None:
        """Found without its relays: they are asked for only if it does not answer directly."""
        if self.router.node.links.has_session(desc.overlay_key):
            self.router.node.count("lookup_relay_queries_skipped")  # it answers already
            return
        self.waiting_for_answer = True
        self.router.node.timers.call_at(now + limits.LOOKUP_RELAY_GRACE, self._answered_or_not)

    def _answered_or_not(self, now) -> None:
        if self.finished:
            return
        self.waiting_for_answer = False
        key = self.located.overlay_key
        # A server that answered needs no relays, nor one nobody tries to reach (if a later
        # attempt fails, the relays are asked for then: Reachability.route_around).
        if self.router.node.links.has_session(key) or not self.router.node.links.reaching(key):
            self.router.node.count("lookup_relay_queries_skipped")
        else:
            self.seeking_relays = True  # behind a NAT that does not let us in, it may be
        self.step(now)


class Router:
    """Answers FIND, runs lookups, and learns contacts from what the core sees."""

    def __init__(self, node, membership):
        self.node = node  # the core: send, timers, rng, identity, counters
        self.membership = membership  # our neighbours are the relays we name
        self.reachability = None  # set by the core: what FOUND answers say about relays goes there
        self.table = RoutingTable(node.identity.owner_key, node.claims)
        # owners whose lookup settled on an unbound claim -> until when that is trusted
        self.settled_unbound = RecentTable(limits.OWNERS_SETTLED_MAX)
        self.lookups: dict[bytes, Lookup] = {}
        # FIND queries of recent finished lookups (for the benchmark's hop counts)
        self.recent_queries: collections.deque[int] = collections.deque(maxlen=limits.RECENT_LOOKUPS_KEPT)
        self._next_lookup_id = 1
        self.announcing = None
        # server -> the relays it named in its self-announce (least recently heard first)
        self.relays_of = RecentTable(limits.RELAY_HINTS_MAX)
        self.announced_relays: frozenset = frozenset()
        node.handle(m.Find, self._on_find)
        node.handle(m.Found, self._on_found)

    def start(self, now: float) -> None:
        self.node.timers.call_at(now + limits.ROUTING_ANNOUNCE_DELAY, self._refresh)
        self.node.timers.call_at(now + limits.ROUTING_RELAYS_CHECK_INTERVAL, self._check_relays)

    def _check_relays(self, now):
        if not self.node.running:
            return
        if frozenset(d.overlay_key for d in self.own_relays()) != self.announced_relays:
            self.node.count("routing_relays_changed")
            self.announce(now)
        self.node.timers.call_at(now + limits.ROUTING_RELAYS_CHECK_INTERVAL, self._check_relays)

    def _refresh(self, now):
        if self.announcing is not None and not self.announcing.finished:
            self.node.timers.call_at(now + limits.ROUTING_ANNOUNCE_DELAY, self._refresh)
            return
        self.announce(now)
        jitter = self.node.rng.uniform(0.8, 1.2)
        self.node.timers.call_at(now + limits.ROUTING_REFRESH_INTERVAL * jitter, self._refresh)

    def announce(self, now: float) -> None:
        """Look ourselves up: every server asked learns of us, and the ones nearest our key are
        the ones a lookup for us will ask."""
        if self.announcing is not None and not self.announcing.finished:
            return
        own = self.node.identity.owner_key
        self.announced_relays = frozenset(d.overlay_key for d in self.own_relays())
        self.announcing = Lookup(self, self._new_lookup_id(), own, now)
        self.announcing.step(now)

    def _new_lookup_id(self) -> int:
        lookup_id = self._next_lookup_id
        self._next_lookup_id = self._next_lookup_id % 0xFFFFFFFF + 1
        return lookup_id

    def saw(self, desc: Descriptor, now: float) -> None:
        self.table.add(desc, now)

    def forget(self, overlay_key: bytes) -> None:
        self.table.remove(overlay_key)

    def locate(self, owner: bytes, now: float, done) -> None:
        """``done(descriptor or None, now)``: the contact of the server serving ``owner``."""
        known = self.table.contact_for(owner, now)
        if known is not None and (self.node.claims.bound_key(owner, now) is not None
                                  or self.settled_unbound.get(owner, 0.0) > now):
            done(known, now)  # bound, or unbound and looked up lately: no lookup needed
            return
        lookup = self.lookups.get(owner)
        if lookup is None:
            if len(self.lookups) >= limits.MAX_LOOKUPS:
                self.node.count("drop_out_lookup_table_full")
                done(None, now)
                return
            lookup = Lookup(self, self._new_lookup_id(), owner, now)
            lookup.unbound = known  # an unbound claim we know: taken unless a bound one is found
            self.lookups[owner] = lookup
            lookup.waiters.append(done)
            lookup.step(now)
        elif lookup.located is not None:
            done(lookup.located, now)  # found; the lookup only gathers its relays now
        else:
            lookup.waiters.append(done)

    def seek_relays(self, contact: Descriptor, now: float) -> None:
        """Ask the servers nearest ``contact``'s key for the relays it named (it is known but
        cannot be reached directly, and no lookup brought them)."""
        if contact.owner in self.lookups or len(self.lookups) >= limits.MAX_LOOKUPS:
            return
        lookup = Lookup(self, self._new_lookup_id(), contact.owner, now)
        lookup.located = contact  # nothing to wait for: only its relays are asked for
        lookup.seeking_relays = True
        self.lookups[contact.owner] = lookup
        lookup.step(now)

    def own_relays(self) -> list[Descriptor]:
        """Servers that can pass messages on to us: our active neighbours."""
        return list(self.membership.active.values())[: limits.RELAY_HINTS_PER_DESTINATION]

    def _on_find(self, peer, message, now):
        owner = message.owner
        if message.relays is not None and owner == peer.owner:
            self._remember_relays(peer.overlay_key, message.relays)  # only a server names its own
        self.learn(peer, now)
        if owner == self.node.identity.owner_key:
            found = [self._self_descriptor(peer, now)]
            relays = self.own_relays()
        else:
            # Other claimants of the sought owner are left out: the contact is the one we
            # believe, with its binding when it has one.
            others = [d for d in self.table.closest(route_id(owner), limits.MAX_FOUND_DESCRIPTORS,
                                                    exclude={peer.overlay_key}) if d.owner != owner]
            contact = self.table.contact_for(owner, now)
            if contact is not None and contact.overlay_key == peer.overlay_key:
                contact = None  # it asks about its own owner: its answer is the others
            relays = self.relays_of.get(contact.overlay_key, []) if contact is not None else []
            found = others
            if contact is not None:
                binding = self.node.claims.binding_of(contact.overlay_key, owner, now)
                found = [replace(contact, binding=binding)] + others
        answer = fit_found(message.lookup_id, found[: limits.MAX_FOUND_DESCRIPTORS], relays)
        self.node.send(peer.overlay_key, None, answer, now)

    def _remember_relays(self, overlay_key: bytes, relays: list[Descriptor]) -> None:
        self.relays_of.pop(overlay_key, None)
        relays = [r for r in relays if r.overlay_key != overlay_key]
        if relays:
            self.relays_of.keep(overlay_key, relays)

    def _self_descriptor(self, peer, now) -> Descriptor:
        # No address: the asker already reaches us where it sent the FIND (see _resolve_self).
        ident = self.node.identity
        return Descriptor(ident.public_key, ident.owner_key, "0.0.0.0", 0,
                          self.node.claims.own_binding(now))

    def _on_found(self, peer, message, now):
        relays = message.relays or ()
        running = list(self.lookups.values())
        if self.announcing is not None:
            running.append(self.announcing)
        asking = [lookup for lookup in running if peer.overlay_key in lookup.in_flight]
        if not asking:
            self.node.count("drop_unasked_found")  # nobody may fill our table uninvited
            return
        found = [self._resolve_self(peer, d) for d in message.found if self._binding_holds(d, now)]
        host, port = peer.address
        responder = Descriptor(peer.overlay_key, peer.owner, str(host), int(port))
        for desc in found:
            self.table.add(desc, now)
            self.reachability.hint(desc.overlay_key, responder)  # it knows that server: a relay to try
        for lookup in asking:
            sought = next((d for d in found if d.owner == lookup.owner and self.node.claims.accepts(
                d.overlay_key, d.owner, now)), None)
            if sought is not None:
                # The relays it named for itself hold sessions with it: tried first (not us:
                # we may be its neighbour, and are asking because we cannot reach it).
                for relay in reversed(relays):
                    if relay.overlay_key != self.node.identity.public_key:
                        self.reachability.hint(sought.overlay_key, relay, named=True)
            lookup.answered(peer.overlay_key, found, now, with_relays=sought is not None and bool(relays))

    def _binding_holds(self, desc: Descriptor, now) -> bool:
        """A descriptor that comes with a binding is taken only if the binding verifies for it
        (then it is remembered, once); without one it is an unbound claim."""
        return desc.binding is None or self.node.claims.check(desc.overlay_key, desc.owner,
                                                              desc.binding, now)

    @staticmethod
    def _resolve_self(peer, desc: Descriptor) -> Descriptor:
        """A server naming itself gives no address: it is where its answer came from."""
        if desc.overlay_key == peer.overlay_key:
            host, port = peer.address
            return Descriptor(desc.overlay_key, desc.owner, str(host), int(port), desc.binding)
        return desc

    def learn(self, peer, now):
        if peer.owner is not None:
            host, port = peer.address
            self.table.add(Descriptor(peer.overlay_key, peer.owner, str(host), int(port)), now)


# What a FOUND may take of a DATA frame: its plaintext, less the frame's header and tag.
FOUND_ROOM = limits.MAX_DATAGRAM - wire.DATA_HEADER_SIZE - wire.TAG_SIZE


def fit_found(lookup_id: int, found: list, relays) -> m.Found:
    """A FOUND that fits one datagram: eight descriptors and four relays fit, but not with a
    binding (about 260 bytes) as well, so the farthest descriptors are left out until it fits;
    the first, the sought owner's when known, always stays."""
    found = list(found)
    while True:
        answer = m.Found(lookup_id, tuple(found), tuple(relays) if relays else None)
        if len(found) <= 1 or len(wire.pack(answer.encode())) <= FOUND_ROOM:
            return answer
        found.pop()
