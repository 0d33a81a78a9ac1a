"""The adversarial scenario: a network of real cores of which a share are hostile
(attacks.py), honest traffic through it, and what the honest servers and their owners would
notice, measured (docs/THREATS.md, "Measured in the simulator").

    scenario = Adversarial(Plan(nodes=200, hostile_every=10, loss=0.01))
    result = scenario.run()

Honest servers are every index but each tenth (9, 19, ...); each hostile one runs one attack,
in turn. What is measured:

- unicast delivery: honest unicasts to honest owners, among them the owners impostors claim and
  the owners forged frames name, counted as delivered only when the payload reached the real
  owner's server (an impostor's acknowledgement does not count);
- broadcast delivery: (honest broadcast, honest server) pairs where that server delivered the
  real payload under the broadcast's id;
- forged unicasts believed: messages handed up as coming from an honest owner who never sent
  them;
- victim bytes: what the server named as origin by hostile broadcasts received because of them
  (their GOSSIP copies, their share of IHAVEs, and every unicast frame sent to it, since honest
  traffic never goes to it), next to the same for a bystander.

The layer above (bench/adversarial.py) may say who the owners are and what proves them:
``owner_for(index)`` the owner key of server ``index`` (None: the simulator's own);
``joining(net, index, identity, claimed)`` more arguments for ``SimNetwork.add_node`` as server
``index`` joins (``claimed``: for an impostor, the address of the server whose owner it
claims, else None); ``binding_of(owner)`` the owner's binding as it travels, which hostile
servers replay; and ``server(net, address)`` puts a layer above an honest server's core.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass

from nostrp2p.mesh import limits, messages as m, wire
from nostrp2p.mesh.sim.attacks import (
    ATTACK_PERIOD, FORGED, ClaimOwner, ForgeRelayed, JunkUnderIds, NameVictim, PoisonDescriptors,
    RotateOrigins,
)
from nostrp2p.mesh.sim.network import LinkModel, SimNetwork

ATTACKS = ("claim", "forge", "junk", "victim", "rotate", "poison")
DATA_OVERHEAD = wire.DATA_HEADER_SIZE + wire.TAG_SIZE  # what a DATA frame adds to its message


def victim_bound(gossip_sizes) -> int:
    """The most a server may receive because of hostile broadcasts whose GOSSIP messages have
    ``gossip_sizes`` (docs/THREATS.md, "The victim's bound"): one full copy, in its own
    DATA frame, from each of its ACTIVE_VIEW_MAX neighbours per broadcast (each neighbour
    pushes a broadcast or announces it once; an announcement is smaller than the copy, and a
    graft is answered only for a copy that was lost or announced instead), and nothing else:
    no server sends anything to a broadcast's origin because of it."""
    return sum(limits.ACTIVE_VIEW_MAX * (DATA_OVERHEAD + size) for size in gossip_sizes)


@dataclass(frozen=True)
class Plan:
    nodes: int = 200
    hostile_every: int = 10  # each tenth server is hostile
    loss: float = 0.01
    seed: int = 15
    attacks: tuple = ATTACKS
    join_spacing: float = 0.05
    settle: float = 30.0  # after the last join, before the attacks start
    duration: float = 120.0  # seconds of attacks and honest traffic
    unicasts_per_second: int = 10
    broadcasts_per_second: int = 1
    rotations_per_round: int = 1  # broadcasts a rotating hostile sends each round
    drain: float = 30.0  # after the traffic: retransmissions and grafts finish


class World:
    """What the behaviours know of the network (a hostile member could learn all of it)."""

    def __init__(self, net):
        self.net = net
        self.honest: list = []
        self.hostile: list = []
        self.honest_keys: set = set()
        self.forge_victims: list = []
        self.quiet_keys: set = set()  # servers sent nothing honest: what reaches them is counted
        self.hostile_mids: dict = {}  # id of a hostile broadcast -> its largest GOSSIP size
        # An owner's binding as it travels (public: any server that met it can replay it).
        self.binding_of = lambda owner: None

    def sample_honest(self, count) -> list:
        rng = self.net.rng
        return [self.honest[rng.randrange(len(self.honest))] for _ in range(count)]


class Adversarial:
    def __init__(self, plan: Plan = Plan(), server=None, owner_for=None, joining=None,
                 binding_of=None, victim_payload: bytes = b"\x00share?", rotate_payloads=None):
        self.plan = plan
        self.owner_for = owner_for or (lambda index: None)
        self.joining = joining or (lambda net, index, identity, claimed: {})
        self.server = server
        self.victim_payload = victim_payload
        self.rotate_payloads = rotate_payloads or (
            lambda: (self.net.rng.randbytes(32), b"\x00rotating"))
        self.net = SimNetwork(seed=plan.seed, link=LinkModel(loss=plan.loss))
        self.world = World(self.net)
        if binding_of is not None:
            self.world.binding_of = binding_of
        self.behaviours = []
        self.claimed: dict = {}  # impostor address -> the honest address whose owner it claims
        self.origin_victim = None  # named as origin by hostile broadcasts; sent nothing honest
        self.bystander = None  # an honest server like the victim, for comparison
        self.victim_bytes = collections.Counter()  # address -> bytes because of hostile broadcasts
        self.vias = collections.defaultdict(set)  # honest address -> neighbours that handed it broadcasts
        self.build_seconds = self.run_seconds = 0.0

    # --- building ---------------------------------------------------------------------------
    def _roles(self):
        """index -> attack, for the hostile indices."""
        plan = self.plan
        if not plan.attacks:
            return {}  # the baseline: every server honest
        hostile = [i for i in range(plan.nodes) if i % plan.hostile_every == plan.hostile_every - 1]
        return {index: plan.attacks[n % len(plan.attacks)] for n, index in enumerate(hostile)}

    def build(self) -> None:
        started = time.perf_counter()
        plan, net, world = self.plan, self.net, self.world
        roles = self._roles()
        boot = []
        for index in range(plan.nodes):
            role = roles.get(index)
            victim = None
            owner = self.owner_for(index)
            if role == "claim":
                # An honest server that joined before it, not yet claimed by another impostor.
                victim = next(a for a in reversed(world.honest[1:]) if a not in self.claimed.values())
                owner = net.owner_of(victim)
            identity = net.identity_for(index, owner_key=owner)
            if index:
                net.run_for(plan.join_spacing)
            address = net.add_node(bootstrap=boot[:5], identity=identity,
                                   **self.joining(net, index, identity, victim))
            if role is None:
                world.honest.append(address)
                world.honest_keys.add(identity.public_key)
                boot.append(address)
            else:
                world.hostile.append(address)
                if role == "claim":
                    self.claimed[address] = victim
        self.origin_victim, self.bystander = world.honest[1], world.honest[2]
        world.quiet_keys = {net.hosts[a].identity.public_key for a in (self.origin_victim, self.bystander)}
        claimed = set(self.claimed.values())
        world.forge_victims = [a for a in world.honest[3:] if a not in claimed][:8]
        if self.server is not None:
            for address in world.honest:
                self.server(net, address)
        net.run_for(plan.settle)
        for address, role in zip(world.hostile, (roles[i] for i in sorted(roles))):
            self.behaviours.append(self._behaviour(role, address))
        for behaviour in self.behaviours:
            behaviour.start()
        for address in (self.origin_victim, self.bystander):
            self._count_victim_bytes(address)
        self.build_seconds = time.perf_counter() - started

    def _behaviour(self, role, address):
        net, world = self.net, self.world
        if role == "claim":
            return ClaimOwner(net, address, world, net.owner_of(self.claimed[address]))
        if role == "forge":
            return ForgeRelayed(net, address, world)
        if role == "junk":
            return JunkUnderIds(net, address, world)
        if role == "victim":
            return NameVictim(net, address, world, net.owner_of(self.origin_victim),
                              self.victim_payload)
        if role == "rotate":
            return RotateOrigins(net, address, world, self.rotate_payloads,
                                 self.plan.rotations_per_round)
        if role == "poison":
            return PoisonDescriptors(net, address, world)
        raise ValueError(f"no attack called {role!r}")

    def _count_victim_bytes(self, address) -> None:
        """Count, at ``address``, the bytes of what hostile broadcasts caused: their GOSSIP
        copies, their share of each IHAVE, and every unicast frame (nothing honest is sent to
        these two servers)."""
        node = self.net.node(address)
        receive = node.receive_message
        hostile_mids = self.world.hostile_mids
        own = node.identity.public_key

        def counted(peer, plaintext, now):
            size = len(plaintext) + DATA_OVERHEAD
            try:
                message = m.decode(plaintext)
            except wire.MalformedFrame:
                message = None
            if isinstance(message, m.Gossip) and message.mid in hostile_mids:
                self.victim_bytes[address] += size
            elif isinstance(message, m.IHave) and message.mids:
                share = sum(1 for mid in message.mids if mid in hostile_mids) / len(message.mids)
                self.victim_bytes[address] += int(size * share)
            # (Where a relay carries a session's datagrams, a relayed fragment is counted twice,
            # in its RELAYED frame and once opened: never less than what arrived.)
            elif isinstance(message, (m.Fragment, m.Relayed)) or (
                    isinstance(message, m.Relay) and message.destination == own):
                self.victim_bytes[address] += size
            receive(peer, plaintext, now)

        node.receive_message = counted

    # --- running ----------------------------------------------------------------------------
    def run(self) -> dict:
        if self.origin_victim is None:
            self.build()
        started = time.perf_counter()
        plan, net, world = self.plan, self.net, self.world
        rng = net.rng
        quiet = {self.origin_victim, self.bystander}
        senders = [a for a in world.honest if a not in quiet]
        targeted = list(self.claimed.values()) + world.forge_victims
        expected = {}  # honest broadcast id -> payload
        got = collections.defaultdict(set)  # honest broadcast id -> honest servers with it
        self._record_broadcasts(expected, got)
        unicasts = []  # (destination address, payload, outcome)
        next_attack = net.now
        for second in range(int(plan.duration)):
            if net.now >= next_attack:
                for behaviour in self.behaviours:
                    behaviour.act()
                next_attack = net.now + ATTACK_PERIOD
            for k in range(plan.broadcasts_per_second):
                payload = b"broadcast %d.%d " % (second, k) + b"." * 200
                origin = senders[rng.randrange(len(senders))]
                mid = net.broadcast(origin, payload)
                expected[mid] = payload
                got[mid].add(origin)
            for k in range(plan.unicasts_per_second):
                sender = senders[rng.randrange(len(senders))]
                pool = targeted if k % 2 == 0 and targeted else senders
                destination = pool[rng.randrange(len(pool))]
                if destination == sender:
                    continue
                payload = b"unicast %d.%d" % (second, k)
                unicasts.append((destination, payload, net.unicast(sender, net.owner_of(destination), payload)))
            net.run_for(1.0)
        net.run_for(plan.drain)
        self.run_seconds = time.perf_counter() - started
        return self._measure(expected, got, unicasts)

    def _record_broadcasts(self, expected, got) -> None:
        for address in self.world.honest:
            node = self.net.node(address)
            inner = node.on_broadcast

            def delivered(payload, origin, mid, via, inner=inner, address=address):
                self.vias[address].add(via)
                if expected.get(mid) == payload:
                    got[mid].add(address)
                if inner is not None:
                    inner(payload, origin, mid, via)

            node.on_broadcast = delivered

    def _attacks(self) -> dict:
        """attack -> (hostile servers running it, hostile messages they sent)."""
        out = {}
        for behaviour in self.behaviours:
            servers, sent = out.get(behaviour.name, (0, 0))
            out[behaviour.name] = (servers + 1, sent + behaviour.sent)
        return out

    def _measure(self, expected, got, unicasts) -> dict:
        net, world = self.net, self.world
        honest = set(world.honest)
        arrived = {a: {payload for payload, _ in net.messages[a]} for a in net.hosts}
        delivered = sum(1 for dest, payload, _ in unicasts if payload in arrived[dest])
        stolen = sum(1 for dest, payload, _ in unicasts
                     if any(payload in arrived[h] for h in world.hostile))
        to_targeted = [(d, p) for d, p, _ in unicasts if d in set(self.claimed.values()) | set(world.forge_victims)]
        forged = sum(1 for a in honest for payload, origin in net.messages[a]
                     if payload.startswith(FORGED) and origin in {net.owner_of(h) for h in honest})
        pairs = sum(len(got[mid] & honest) for mid in expected)
        return {
            "nodes": len(net.hosts),
            "hostile": len(world.hostile),
            "loss": self.plan.loss,
            "attacks": self._attacks(),
            "unicasts": len(unicasts),
            "unicast_delivery": delivered / len(unicasts) if unicasts else 1.0,
            "unicasts_to_targeted": len(to_targeted),
            "targeted_delivery": (sum(1 for d, p in to_targeted if p in arrived[d]) / len(to_targeted)
                                  if to_targeted else 1.0),
            "unicasts_stolen": stolen,
            "forged_believed": forged,
            # Frames honest servers handed hostile ones to relay (each withheld).
            "relayed_through_hostile": sum(net.hosts[h].stats()["hostile_withheld"] for h in world.hostile),
            "broadcasts": len(expected),
            "broadcast_delivery": pairs / (len(expected) * len(honest)) if expected else 1.0,
            "hostile_broadcasts": len(world.hostile_mids),
            "victim_bytes": self.victim_bytes[self.origin_victim],
            "victim_bound": victim_bound(world.hostile_mids.values()),
            "bystander_bytes": self.victim_bytes[self.bystander],
            "build_seconds": self.build_seconds,
            "run_seconds": self.run_seconds,
        }
