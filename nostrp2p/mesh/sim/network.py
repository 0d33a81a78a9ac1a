"""The simulator's event loop. Each node is an unchanged OverlayNode; the simulator only carries
its datagrams (with the link model's delays and faults) and calls ``tick`` at its deadlines."""

from __future__ import annotations

import collections
import hashlib
import heapq
import itertools
import random
from dataclasses import dataclass

from nostrp2p.mesh.identity import Identity
from nostrp2p.mesh.core import OverlayConfig, OverlayNode
from nostrp2p.mesh.sim.nat import NatBox, NatType

_DELIVER = 0
_TIMER = 1
_CALL = 2


class SimCall:
    """A call scheduled with ``SimNetwork.call_later`` (cancel and active, as a reactor's)."""

    __slots__ = ("function", "args", "cancelled", "called")

    def __init__(self, function, args):
        self.function, self.args = function, args
        self.cancelled = self.called = False

    def active(self) -> bool:
        return not (self.cancelled or self.called)

    def cancel(self) -> None:
        self.cancelled = True

    def run(self) -> None:
        if self.active():
            self.called = True
            self.function(*self.args)


@dataclass(frozen=True)
class LinkModel:
    """How datagrams travel: base one-way latency per link is drawn once in [min, max]; each
    datagram adds up to ``jitter`` (which reorders), and is lost or duplicated at the given
    rates."""

    latency_min: float = 0.01
    latency_max: float = 0.08
    jitter: float = 0.01
    loss: float = 0.0
    duplicate: float = 0.0


class Outcome:
    """What became of one simulated unicast or request."""

    __slots__ = ("started", "finished", "error", "result", "watchers")

    def __init__(self, started):
        self.started = started
        self.finished = None
        self.error = None
        self.result = None
        self.watchers = []

    def done(self, error, result, now):
        if self.finished is not None:
            raise AssertionError("an outcome was reported twice")
        self.finished, self.error, self.result = now, error, result
        for watcher in self.watchers:
            watcher(error, result)

    def watch(self, watcher) -> None:
        """Call ``watcher(error, result)`` when the outcome is known (now, if it is)."""
        if self.finished is not None:
            watcher(self.error, self.result)
        else:
            self.watchers.append(watcher)


class SimHost:
    __slots__ = ("address", "label", "identity", "bootstrap", "password", "node", "up",
                 "incarnation", "scheduled", "retired_stats", "nat", "bindings")

    def __init__(self, address, label, identity, bootstrap, password):
        self.address = address
        self.label = label  # a stable name for its random streams (its address may be reused)
        self.identity = identity
        self.bootstrap = bootstrap
        self.password = password
        self.node = None
        self.up = False
        self.incarnation = 0
        self.scheduled = None
        self.retired_stats = collections.Counter()  # counters of earlier incarnations
        self.nat = None  # the NatBox it sits behind, if any
        self.bindings = None  # its owner bindings' source (mesh/claims.py), None: none

    def stats(self):
        total = collections.Counter(self.retired_stats)
        if self.node is not None:
            total.update(self.node.stats)
        return total


class SimNetwork:
    def __init__(self, seed: int = 0, link: LinkModel = LinkModel()):
        self.seed = seed
        self.link = link
        self.rng = random.Random(seed)
        self.now = 0.0
        self.hosts: dict[tuple, SimHost] = {}
        self._events = []
        self._seq = itertools.count()
        self._latency = {}
        self._groups = None  # address -> partition label, while partitioned
        self._blocked: set[frozenset] = set()  # pairs that cannot exchange datagrams
        self.nats: dict[str, NatBox] = {}  # public host -> NAT box
        self._labels: dict[tuple, tuple] = {}  # address -> the name its random streams use
        self.deliveries: dict[bytes, dict[tuple, float]] = collections.defaultdict(dict)
        self.datagrams_sent = 0
        # unicasts delivered: address -> [(payload, origin owner)]
        self.messages: dict[tuple, list] = collections.defaultdict(list)
        # The overlay key of the session each of those arrived on (the relay's when relayed).
        self.message_sessions: dict[tuple, list] = collections.defaultdict(list)
        self.taps = []  # callables (source, destination, datagram): see every datagram sent
        self.boot_hooks = []  # callables (host): a node was made, before it starts

    # --- topology --------------------------------------------------------------------------
    def identity_for(self, index: int, owner_key: bytes | None = None) -> Identity:
        """A deterministic key pair for node ``index`` (so runs repeat exactly)."""
        secret = hashlib.blake2b(f"sim-{self.seed}-{index}".encode(), digest_size=32).digest()
        owner = owner_key or hashlib.blake2b(b"owner" + secret, digest_size=32).digest()
        return Identity.from_private(secret, owner)

    @staticmethod
    def address_for(index: int) -> tuple:
        """The address ``add_node`` gives the server it adds as number ``index`` (outside NATs)."""
        return (f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}", 7000)

    def add_nat(self, name: str, kind: NatType, **options) -> NatBox:
        """A NAT box whose public host is ``name``; put servers behind it with add_node(nat=...)."""
        box = NatBox(name, kind, number=len(self.nats), **options)
        self.nats[box.public_host] = box
        return box

    def add_node(self, bootstrap=(), password=None, identity=None, address=None, nat=None,
                 bindings=None) -> tuple:
        index = len(self.hosts)
        # Hosts are IP literals, as on the real overlay (peers refuse any other host); the
        # labels keep every random stream what it was when hosts were names.
        if nat is not None:
            address, label = nat.private_address(index), (f"{nat.name}/host-{index}", 7000)
        else:
            address = address or self.address_for(index)
            label = (f"node-{index}", 7000)
        identity = identity or self.identity_for(index)
        host = SimHost(address, label, identity, tuple(bootstrap), password)
        self._labels[address] = label
        host.nat = nat
        host.bindings = bindings
        self.hosts[address] = host
        self._boot(host)
        return address

    def _boot(self, host):
        host.incarnation += 1
        rng = random.Random(f"{self.seed}/{host.label}/{host.incarnation}")
        config = OverlayConfig(bootstrap=host.bootstrap, network_password=host.password)

        def delivered(payload, origin, mid, via, address=host.address):
            self.deliveries[mid].setdefault(address, self.now)

        def message(payload, origin, via, address=host.address):
            self.messages[address].append((payload, origin))
            self.message_sessions[address].append(via)

        def request(payload, origin, via, respond):
            # Simulated servers answer every request with what they were asked, marked.
            respond(b"re:" + payload, self.now)

        host.node = OverlayNode(host.identity, config, rng, on_broadcast=delivered,
                                on_message=message, on_request=request, bindings=host.bindings)
        host.up = True
        host.scheduled = None
        for hook in self.boot_hooks:
            hook(host)
        host.node.start(self.now)
        self._flush(host)

    def crash(self, address) -> None:
        """The process dies: no goodbye, its state is lost."""
        host = self.hosts[address]
        host.up = False
        host.retired_stats.update(host.node.stats)
        host.node = None

    def restart(self, address) -> None:
        """The process comes back with its key but nothing else, and rejoins."""
        host = self.hosts[address]
        if not host.up:
            self._boot(host)

    def stop(self, address) -> None:
        """A clean shutdown: the node says goodbye first."""
        host = self.hosts[address]
        host.node.stop(self.now)
        self._flush(host)
        self.crash(address)

    def partition(self, groups) -> None:
        """Split the network: datagrams cross only within one of ``groups`` (lists of addresses)."""
        self._groups = {}
        for label, group in enumerate(groups):
            for address in group:
                self._groups[address] = label

    def block(self, a, b) -> None:
        """No datagram passes between ``a`` and ``b`` (a firewall, NATs that will not open), while
        both still reach everyone else."""
        self._blocked.add(frozenset((a, b)))

    def unblock(self, a, b) -> None:
        self._blocked.discard(frozenset((a, b)))

    def heal(self) -> None:
        self._groups = None

    def node(self, address) -> OverlayNode:
        return self.hosts[address].node

    def live(self):
        return [a for a, h in self.hosts.items() if h.up]

    # --- sending ---------------------------------------------------------------------------
    def broadcast(self, address, payload: bytes) -> bytes:
        host = self.hosts[address]
        mid = host.node.broadcast(payload, self.now)
        self.deliveries[mid].setdefault(address, self.now)
        self._flush(host)
        return mid

    def unicast(self, address, owner: bytes, payload: bytes) -> "Outcome":
        """Send from the node at ``address`` to the server of ``owner``; the outcome fills in
        as the simulation runs."""
        host = self.hosts[address]
        outcome = Outcome(self.now)
        host.node.send_unicast(owner, payload, self.now, outcome.done)
        self._flush(host)
        return outcome

    def request(self, address, owner: bytes, payload: bytes, timeout=None) -> "Outcome":
        host = self.hosts[address]
        outcome = Outcome(self.now)
        host.node.request(owner, payload, self.now, outcome.done, timeout)
        self._flush(host)
        return outcome

    def call_later(self, delay: float, function, *args) -> SimCall:
        """Call ``function(*args)`` at simulated time now + ``delay`` (for a layer above the
        cores that needs the reactor's callLater)."""
        call = SimCall(function, args)
        self._schedule(self.now + delay, _CALL, call)
        return call

    def owner_of(self, address) -> bytes:
        return self.hosts[address].identity.owner_key

    def inject(self, datagram: bytes, source, destination, delay: float = 0.0) -> None:
        """Put a datagram of our own making on the wire (for tests of hostile input)."""
        self._schedule(self.now + delay, _DELIVER, (destination, datagram, source))

    def _label(self, address):
        label = self._labels.get(address)
        if label is None:
            box = self.nats.get(address[0])
            label = (box.name, address[1]) if box is not None else address
        return label

    def _link_latency(self, a, b):
        key = (a, b) if a <= b else (b, a)
        latency = self._latency.get(key)
        if latency is None:
            a, b = self._label(a), self._label(b)
            labels = (a, b) if a <= b else (b, a)
            digest = hashlib.blake2b(repr((self.seed, labels)).encode(), digest_size=8).digest()
            fraction = int.from_bytes(digest, "big") / 2 ** 64
            latency = self.link.latency_min + fraction * (self.link.latency_max - self.link.latency_min)
            self._latency[key] = latency
        return latency

    def _flush(self, host):
        outgoing = host.node.take_outgoing()
        if outgoing:
            self._send_all(host, outgoing)
        deadline = host.node.next_deadline()
        if deadline is not None and (host.scheduled is None or deadline < host.scheduled):
            host.scheduled = deadline
            self._schedule(deadline, _TIMER, (host.address, host.incarnation))

    def _send_all(self, host, outgoing):
        # The simulator's inner loop (every datagram passes here once): names are looked up once
        # per batch, and the random draws are the same, in the same order, as datagram by datagram.
        link = self.link
        rng = self.rng
        loss, duplicate, jitter = link.loss, link.duplicate, link.jitter
        events, seq, push = self._events, self._seq, heapq.heappush
        latencies = self._latency
        source_address = host.address
        nat = host.nat
        now = self.now
        self.datagrams_sent += len(outgoing)
        for datagram, destination in outgoing:
            for tap in self.taps:
                tap(source_address, destination, datagram)
            if self._groups is not None and \
                    self._groups.get(source_address) != self._groups.get(destination):
                continue
            if self._blocked and frozenset((source_address, destination)) in self._blocked:
                continue
            if loss and rng.random() < loss:
                continue
            copies = 2 if duplicate and rng.random() < duplicate else 1
            key = (source_address, destination) if source_address <= destination else \
                (destination, source_address)
            base = latencies.get(key)
            if base is None:
                base = self._link_latency(source_address, destination)
            source = source_address
            if nat is not None and not nat.owns(destination):
                source = nat.outbound(source_address, destination, now)
            for _ in range(copies):
                delay = base + (rng.random() * jitter if jitter else 0.0)
                push(events, (now + delay, next(seq), _DELIVER, (destination, datagram, source)))

    def _schedule(self, when, kind, data):
        heapq.heappush(self._events, (when, next(self._seq), kind, data))

    # --- running ---------------------------------------------------------------------------
    def run_until(self, until: float) -> None:
        events = self._events
        hosts = self.hosts
        while events and events[0][0] <= until:
            when, _, kind, data = heapq.heappop(events)
            self.now = when
            if kind == _CALL:
                data.run()
                continue
            if kind == _DELIVER:
                destination, datagram, source = data
                host = self._receiver(destination, source, when)
                if host is None or not host.up:
                    continue
                host.node.datagram_received(datagram, source, when)
            else:
                address, incarnation = data
                host = hosts[address]
                if not host.up or host.incarnation != incarnation:
                    continue
                if host.scheduled == when:
                    host.scheduled = None
                host.node.tick(when)
            self._flush(host)
        self.now = max(self.now, until)

    def _receiver(self, destination, source, when):
        host = self.hosts.get(destination)
        if host is not None:
            if host.nat is not None and not host.nat.owns(source):
                return None  # a private address is not reachable from outside its NAT
            return host
        box = self.nats.get(destination[0])
        if box is None:
            return None
        internal = box.inbound(destination[1], source, when)
        return self.hosts.get(internal) if internal is not None else None

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    # --- measuring -------------------------------------------------------------------------
    def total(self, counter: str) -> int:
        return sum(h.stats()[counter] for h in self.hosts.values())

    def reached(self, mid: bytes) -> set:
        return set(self.deliveries.get(mid, ()))
