"""SIMULATOR-ONLY SETUP: a network started in the state a converged growth leaves, built from
global knowledge, instead of grown one join after another.

Growing N servers by real joins costs about 250 datagrams per joining server and the upkeep of
every server already in for the rest of the growth: quadratic in N, most of the 15 minutes at
10,000 servers (docs/SCALING.md, "The simulator at scale"). ``grow_converged`` hands each server,
before it starts, what its joins and lookups would have left it, drawn from the list of all
servers (which no real server has):

- its routing table: up to ROUTING_BUCKET_SIZE contacts per bucket, drawn at random among the
  servers in that bucket's range (all of them in the near buckets), as lookups converge to;
- its HyParView views: an active view in a random symmetric graph of degree ACTIVE_VIEW_MAX
  (HyParView's active views are such a graph), and PASSIVE_VIEW_MAX servers drawn at random
  as its passive view (what shuffles converge to);
- a session with each active neighbour, opened by the real handshake at the start;
- bootstrap servers (BOOTSTRAP_PEERS drawn at random) for when it crashes and comes back.

What it does not exercise: JOIN, FORWARDJOIN and the NEIGHBOR requests of a first join, and the
lookups that fill a new server's routing table. Everything after the start is the real protocol:
every server announces itself (its self-lookup), keeps its links alive, shuffles, and a server
that crashes and returns joins again through its bootstrap servers as any server does; the
settle lets that run before anything is measured. The join itself is exercised by the grown
networks of bench/overlay_sim.py and the tests of tests/mesh/.
"""

from __future__ import annotations

import bisect
import random

from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.routing import route_id
from nostrp2p.mesh.sim.network import SimNetwork

BOOTSTRAP_PEERS = 5  # as many as the grown networks list (bench/overlay_sim.py)


def grow_converged(n: int, seed: int, link, settle: float = 20.0):
    """``(network, addresses)``: ``n`` servers started at once in a converged state (above), then
    ``settle`` seconds of the real protocol."""
    net = SimNetwork(seed=seed, link=link)
    rng = random.Random(f"converged/{seed}")
    identities = [net.identity_for(i) for i in range(n)]
    addresses = [SimNetwork.address_for(i) for i in range(n)]
    descriptors = [Descriptor(ident.public_key, ident.owner_key, host, port)
                   for ident, (host, port) in zip(identities, addresses)]
    routing = _routing_tables(descriptors, rng)
    active = _active_graph(n, rng)
    by_address = {address: index for index, address in enumerate(addresses)}

    def seed_state(host):
        index = by_address.get(host.address)
        if host.incarnation != 1 or index is None:
            return  # a server coming back joins as any server does
        node = host.node
        for contact in routing[index]:
            node.router.table.add(descriptors[contact], net.now)
        for other in rng.sample(range(n - 1), min(limits.PASSIVE_VIEW_MAX, n - 1)):
            other += other >= index  # anyone but itself
            if other not in active[index]:
                node.membership._add_passive(descriptors[other])
        for other in sorted(active[index]):
            node.membership._add_active(descriptors[other], net.now)
            if other > index:  # one side opens the session (the other's is not up yet)
                node.links.send(descriptors[other].overlay_key, addresses[other], m.Ping(), net.now)
        node.membership.bootstrap = []  # in the network already: no JOIN at this start

    net.boot_hooks.append(seed_state)
    for index in range(n):
        others = rng.sample(range(n - 1), min(BOOTSTRAP_PEERS, n - 1))
        bootstrap = [addresses[o + (o >= index)] for o in others]
        net.add_node(bootstrap=bootstrap, identity=identities[index])
        net.node(addresses[index]).membership.bootstrap = list(bootstrap)  # for a later rejoin
    net.boot_hooks.remove(seed_state)
    net.run_for(settle)
    return net, addresses


def _routing_tables(descriptors, rng) -> list[list[int]]:
    """For each server, the indexes of its routing contacts: up to ROUTING_BUCKET_SIZE per
    bucket, at random among the servers whose route id falls in that bucket's range (the ids
    sharing our top bits down to the bucket's, and differing there: a contiguous range)."""
    ids = [route_id(d.owner) for d in descriptors]
    order = sorted(range(len(ids)), key=ids.__getitem__)
    sorted_ids = [ids[i] for i in order]
    k = limits.ROUTING_BUCKET_SIZE
    tables = []
    for position, index in enumerate(order):
        own = sorted_ids[position]
        # The nearest bucket that holds anyone is that of a neighbour in sorted order.
        nearest = [own ^ sorted_ids[p] for p in (position - 1, position + 1) if 0 <= p < len(ids)]
        lowest = min(d.bit_length() for d in nearest) - 1 if nearest else 256
        contacts = []
        for bit in range(255, lowest - 1, -1):
            low = ((own >> bit) ^ 1) << bit
            first = bisect.bisect_left(sorted_ids, low)
            last = bisect.bisect_left(sorted_ids, low + (1 << bit), first)
            if last - first <= k:
                contacts.extend(order[first:last])
            else:
                contacts.extend(order[first + j] for j in rng.sample(range(last - first), k))
        tables.append((index, contacts))
    tables.sort()
    return [contacts for _, contacts in tables]


def _active_graph(n: int, rng) -> list[set]:
    """A random symmetric graph in which nearly every server has ACTIVE_VIEW_MAX neighbours (the
    configuration model: each server's slots shuffled and paired; a pair that would be a loop
    or a second edge is left out, so a few servers have one less)."""
    degree = min(limits.ACTIVE_VIEW_MAX, n - 1)
    slots = [server for server in range(n) for _ in range(degree)]
    rng.shuffle(slots)
    neighbours = [set() for _ in range(n)]
    for a, b in zip(slots[::2], slots[1::2]):
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    return neighbours
