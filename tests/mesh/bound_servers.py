"""Simulated servers with real owner keys and owner bindings (the real core, and the node
layer's binding source with its BIP-340 checks), for the tests of what a claim is worth."""

from __future__ import annotations

import hashlib

from nostrp2p.binding.overlay_source import OverlayBindings
from nostrp2p.nostr import KeyPair
from nostrp2p.nostr.binding import make_binding, pack_binding
from nostrp2p.mesh.sim import LinkModel, SimNetwork

FOREVER = 10 ** 9  # an expiry no simulated run reaches


class Server:
    """One simulated server: its address, its owner's keys and its current binding (None:
    unbound; tests change it as an owner would)."""

    def __init__(self, net, address, keys: KeyPair, identity):
        self.net = net
        self.address = address
        self.keys = keys
        self.identity = identity
        self.binding = None

    @property
    def owner(self) -> bytes:
        return self.keys.public

    @property
    def overlay_key(self) -> bytes:
        return self.identity.public_key

    @property
    def node(self):
        return self.net.node(self.address)

    def bind(self, sequence: int = 1, expires_at: int = FOREVER, created_at: int = 1) -> bytes:
        """The owner binds this server; returns the binding as it travels."""
        self.binding = make_binding(self.keys.secret, self.overlay_key, sequence, expires_at,
                                    created_at)
        return pack_binding(self.binding)


def owner_keys(seed: int, index: int) -> KeyPair:
    return KeyPair.from_secret(hashlib.sha256(f"owner-{seed}-{index}".encode()).digest())


def add_server(net, bootstrap=(), keys: KeyPair | None = None, bound: bool = False,
               **binding) -> Server:
    """A server joining through ``bootstrap`` (Server objects); ``keys``: its owner's (another
    server's, for an impostor), else fresh ones; ``bound``: bound before it starts."""
    index = len(net.hosts)
    keys = keys or owner_keys(net.seed, index)
    identity = net.identity_for(index, keys.public)
    server = Server(net, None, keys, identity)
    if bound:
        server.bind(**binding)
    server.address = net.add_node(bootstrap=[b.address for b in bootstrap], identity=identity,
                                  bindings=OverlayBindings(lambda: server.binding))
    return server


def network(count: int, seed: int, bound=(), link=LinkModel(), settle=30.0):
    """``count`` servers joining through the first, those at the indexes in ``bound`` bound."""
    net = SimNetwork(seed=seed, link=link)
    servers = []
    for index in range(count):
        if servers:
            net.run_for(0.3)
        servers.append(add_server(net, servers[:1], bound=index in bound))
    net.run_for(settle)
    return net, servers


def say(net, sender: Server, to: Server, message) -> None:
    """``sender`` sends ``message`` to ``to`` (a session is made if need be), now."""
    host = net.hosts[sender.address]
    host.node.send(to.overlay_key, to.address, message, net.now)
    net._flush(host)

