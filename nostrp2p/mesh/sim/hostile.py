"""Hostile members for the simulator: a hostile server runs the real core, and these helpers
make it do what an honest one never would (docs/THREATS.md)."""

from __future__ import annotations

from nostrp2p.mesh import messages as m


def send_to_neighbours(net, address, message: m.Message) -> None:
    """The server at ``address`` sends ``message`` to each of its active neighbours, now."""
    host = net.hosts[address]
    for overlay_key in list(host.node.membership.active):
        host.node.send(overlay_key, None, message, net.now)
    net._flush(host)


def junk_under(mid: bytes, origin_owner: bytes, junk: bytes = b"\x00junk") -> m.Gossip:
    """A GOSSIP that claims the id ``mid`` (someone else's broadcast) for a payload of its own."""
    return m.Gossip(mid, origin_owner, bytes(m.GOSSIP_SALT_SIZE), 0, junk)


def record_payloads(net) -> dict:
    """address -> [(payload, origin, mid), ...] each live server delivers upward from now on."""
    got = {}
    for address in net.live():
        node = net.node(address)
        seen = got[address] = []

        def delivered(payload, origin, mid, via, inner=node.on_broadcast, seen=seen):
            seen.append((payload, origin, mid))
            inner(payload, origin, mid, via)

        node.on_broadcast = delivered
    return got


class RawMessage:
    """An inner message of any shape (``values``: the array, type first) for ``send_raw``."""

    def __init__(self, values: list):
        self.values = values
        self.TYPE = values[0] if values and isinstance(values[0], int) else -1

    def encode(self) -> list:
        return self.values


def send_raw(net, address, overlay_key: bytes, values: list) -> None:
    """The server at ``address`` sends the array ``values`` as an inner message to the server of
    ``overlay_key`` through its own session (authenticated and encrypted as any other), now."""
    host = net.hosts[address]
    host.node.links.send(overlay_key, None, RawMessage(values), net.now)
    net._flush(host)
