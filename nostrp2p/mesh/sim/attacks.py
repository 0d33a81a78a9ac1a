"""What hostile members do, in the simulator: each attack is a behaviour a server running the
real core could really have, written as the messages it sends and the descriptors it writes on
the wire (docs/THREATS.md, "Who the attacker is"), never as a change to how honest servers
check them. A behaviour is installed on one hostile server (``start``) and then acts now and
then (``act``, called by the scenario every ``ATTACK_PERIOD`` seconds).

Every hostile server also withholds: it passes on nothing it is asked to relay, and it keeps
what it receives for others (a stolen mention is acknowledged by its core and never passed on).
"""

from __future__ import annotations

import hashlib

from nostrp2p.mesh import limits, messages as m, wire
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.sim.hostile import send_raw, send_to_neighbours

ATTACK_PERIOD = 2.0  # seconds between a behaviour's rounds of hostile messages
FORGED = b"forged:"  # what forged unicasts start with, so that believing one can be counted
JUNK = b"\x00junk"  # a GOSSIP payload that is no broadcast of anyone's (WHOLE framing, junk)


def overlay_key(net, address) -> bytes:
    return net.hosts[address].identity.public_key


class Behaviour:
    name = "behaviour"

    def __init__(self, net, address, world):
        self.net = net
        self.address = address
        self.world = world  # the scenario: honest addresses, victims, what to count
        self.sent = 0  # hostile messages sent so far

    @property
    def node(self):
        return self.net.node(self.address)

    def start(self) -> None:
        """Change what this server's own core does (it is the attacker's to change)."""
        node = self.node
        node.handle(m.Relay, lambda peer, message, now: node.count("hostile_withheld"))

    def act(self) -> None:
        """One round of hostile messages, sent now."""

    def _flush(self) -> None:
        self.net._flush(self.net.hosts[self.address])

    def _sessions(self) -> list:
        """Overlay keys of the honest servers this one holds sessions with."""
        honest = self.world.honest_keys
        return [k for k in list(self.node.links.peers) if k in honest and self.node.links.has_session(k)]


class ClaimOwner(Behaviour):
    """An impostor: its handshake claims ``victim``'s owner key (the scenario gives it that
    identity), and it keeps telling honest servers so, with a FIND for that key to each of them
    (a FIND teaches the receiver the sender's claimed owner as a routing contact)."""

    name = "claim another owner"

    def __init__(self, net, address, world, victim_owner: bytes):
        super().__init__(net, address, world)
        self.victim_owner = victim_owner

    def act(self) -> None:
        node = self.node
        targets = self._sessions() + [d.overlay_key for d in node.router.table.closest(
            node.router.table.own, limits.ROUTING_BUCKET_SIZE * 2)]
        for key in dict.fromkeys(targets):
            desc = node.router.table.descriptor_of(key)
            node.send(key, desc.address if desc else None,
                      m.Find(self.net.rng.randrange(1, 2 ** 32), self.victim_owner, None), self.net.now)
            self.sent += 1
        self._flush()


class ForgeRelayed(Behaviour):
    """Writes RELAYED frames naming honest victims as their origin (a forged mention "from" the
    victim), and RELAY frames whose path starts at a victim, to be carried by an honest relay:
    the receiver must neither believe the origin nor send the victim's later traffic back
    through the forger. Where a relay carries whole datagrams of an end-to-end session, the
    forged one is the best a forger has: a DATA frame of its own session with the receiver,
    which decrypts there, but as the forger's."""

    name = "forge relayed origins"

    def _carried(self, key, fragment):
        """What a RELAY or RELAYED frame to the server of ``key`` carries: the fragment itself,
        or a datagram of our session with it (None: we hold none)."""
        if "datagram" not in m.Relayed.__annotations__:
            return fragment
        if not self.node.links.has_session(key):
            return None
        return self.node.links.peers[key].current.seal(wire.pack(fragment))

    def act(self) -> None:
        net = self.net
        victims = self.world.forge_victims
        for key in self._sessions():
            victim = victims[net.rng.randrange(len(victims))]
            if overlay_key(net, victim) == key or key in self.world.quiet_keys:
                continue  # (the servers whose traffic is measured as the victim's are left out)
            fragment = [wire.MSG_UNICAST, net.rng.randbytes(16), 0, 1, m.KIND_MESSAGE, None,
                        FORGED + net.owner_of(victim)]
            send_raw(net, self.address, key, [wire.MSG_RELAYED, overlay_key(net, victim),
                                              net.owner_of(victim), self._carried(key, fragment)])
            self.sent += 1
            # The same through an honest relay (``key``): a path that starts at the victim,
            # towards another honest server.
            to = victims[net.rng.randrange(len(victims))]
            carried = self._carried(overlay_key(net, to), fragment)
            if to != victim and overlay_key(net, to) != key and carried is not None:
                send_raw(net, self.address, key,
                         [wire.MSG_RELAY, overlay_key(net, to), net.owner_of(to), limits.MAX_RELAY_HOPS,
                          [overlay_key(net, victim), self.node.identity.public_key],
                          net.owner_of(victim), carried])
                self.sent += 1


class JunkUnderIds(Behaviour):
    """Reuses broadcast ids with junk: every GOSSIP its core would send (an eager push, the
    answer to a graft) carries junk under the real id, and every id it hears announced is at
    once pushed to all its neighbours as junk, racing the real broadcast."""

    name = "reuse broadcast ids with junk"

    def start(self) -> None:
        super().start()
        node, net = self.node, self.net
        broadcaster = node.broadcaster

        def junk_gossip(key, mid, origin, salt, payload, hops, now):
            node.send(key, None, m.Gossip(mid, origin, salt, hops, JUNK), now)
            self.sent += 1

        broadcaster._send_gossip = junk_gossip
        on_ihave = broadcaster._on_ihave

        def race(peer, message, now):
            for mid in message.mids:
                if mid not in broadcaster.seen:
                    for key in list(node.membership.active):
                        if key != peer.overlay_key:
                            junk_gossip(key, mid, net.owner_of(self.address), bytes(m.GOSSIP_SALT_SIZE), JUNK, 0, now)
            on_ihave(peer, message, now)

        node.handle(m.IHave, race)


def send_broadcast_as(net, address, origin_owner: bytes, payload: bytes, world) -> bytes:
    """The server at ``address`` starts a broadcast of ``payload`` (the GOSSIP payload, framing
    byte included) naming ``origin_owner`` as its origin: a GOSSIP with a correct id, sent to
    each of its neighbours. The world learns its id and the largest size its GOSSIP can have
    on the way (with the most hops written)."""
    salt = net.rng.randbytes(m.GOSSIP_SALT_SIZE)
    mid = m.gossip_id(origin_owner, salt, payload)
    send_to_neighbours(net, address, m.Gossip(mid, origin_owner, salt, 0, payload))
    world.hostile_mids[mid] = len(wire.pack(m.Gossip(mid, origin_owner, salt, limits.MAX_HOPS,
                                                      payload).encode()))
    return mid


class NameVictim(Behaviour):
    """Broadcasts naming an honest victim as their origin (``payload``: what the scenario has it
    send, a "share" request in the node's terms), hoping every server answers the victim."""

    name = "name a victim as a broadcast's origin"

    def __init__(self, net, address, world, victim_owner: bytes, payload: bytes):
        super().__init__(net, address, world)
        self.victim_owner = victim_owner
        self.payload = payload

    def act(self) -> None:
        send_broadcast_as(self.net, self.address, self.victim_owner, self.payload, self.world)
        self.sent += 1


class RotateOrigins(Behaviour):
    """Broadcasts under a fresh claimed origin each time (``payloads``: a callable giving the
    next (origin, payload)), ``per_round`` of them each round, hoping for a fresh budget per
    origin."""

    name = "rotate origins"

    def __init__(self, net, address, world, payloads, per_round: int = 1):
        super().__init__(net, address, world)
        self.payloads = payloads
        self.per_round = per_round

    def act(self) -> None:
        for _ in range(self.per_round):
            origin, payload = self.payloads()
            send_broadcast_as(self.net, self.address, origin, payload, self.world)
            self.sent += 1


def poisoned(net, hostile, owner: bytes, binding: bytes | None = None) -> Descriptor:
    """A descriptor claiming that ``owner`` is served by the hostile server's overlay key, at
    its address; with ``binding``, the owner's real binding (of another overlay key) replayed."""
    host, port = net.hosts[hostile].address
    if binding is None:
        return Descriptor(overlay_key(net, hostile), owner, host, port)
    return Descriptor(overlay_key(net, hostile), owner, host, port, binding)


class PoisonDescriptors(Behaviour):
    """Feeds poisoned descriptors: every FOUND it answers says that the sought owner (and the
    honest owners it knows) are served by hostile servers, and names hostile relays; every few
    seconds it sends its neighbours a SHUFFLE whose sample claims honest owners for hostile
    keys."""

    name = "feed poisoned descriptors"

    def start(self) -> None:
        super().start()
        node = self.node
        node.handle(m.Find, self._on_find)

    def _lies(self, owners, with_bindings: bool) -> tuple:
        """For each owner, a descriptor naming a hostile server; in FOUND (``with_bindings``)
        carrying the owner's real binding where one is known (replayed: it binds another key)."""
        hostiles = self.world.hostile
        out = []
        for owner in owners:
            liar = hostiles[int.from_bytes(hashlib.blake2b(owner, digest_size=4).digest(), "big") % len(hostiles)]
            binding = self.world.binding_of(owner) if with_bindings else None
            out.append(poisoned(self.net, liar, owner, binding))
        return tuple(out)

    def _on_find(self, peer, message, now):
        owners = [message.owner] + [self.net.owner_of(a) for a in self.world.sample_honest(
            limits.MAX_FOUND_DESCRIPTORS - 1)]
        found = self._lies(owners[: limits.MAX_FOUND_DESCRIPTORS], with_bindings=True)
        relays = tuple(poisoned(self.net, h, self.net.owner_of(h)) for h in self.world.hostile[:2])
        self.node.send(peer.overlay_key, None, m.Found(message.lookup_id, found, relays), now)
        self.sent += 1

    def act(self) -> None:
        owners = [self.net.owner_of(a) for a in self.world.sample_honest(limits.SHUFFLE_ACTIVE + limits.SHUFFLE_PASSIVE)]
        sample = self._lies(owners, with_bindings=False)
        for key in list(self.node.membership.active):
            self.node.send(key, None, m.Shuffle(None, 1, sample), self.net.now)
            self.sent += 1
        self._flush()
