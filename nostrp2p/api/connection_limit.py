"""Bounds on the HTTP port's connections: at most MAX_HTTP_CONNECTIONS_PER_ADDRESS open at once
from one address, so that one host cannot hold every file descriptor the server has (and with
them the owner's own client out). IPv6 hosts are counted by /64, the block one home or one
machine usually holds: counting single addresses would give such a host 2^64 slots.

A WebSocket gives its slot back when it is upgraded: autobahn takes the transport away from the
HTTP channel, whose close is then never seen, and the relay counts its connections itself, with
slots of its own (MAX_CONNECTIONS_PER_ADDRESS)."""

from __future__ import annotations

import collections
import ipaddress

from . import limits


def address_group(host: str) -> str:
    """The unit connections are counted by: an IPv4 address, or an IPv6 address's /64."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:  # an IPv4 client on a dual-stack socket
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


class AddressSlots:
    """Open connections per address group, at most ``most`` each. A connection without a host
    (a UNIX socket) is not limited."""

    def __init__(self, most: int = limits.MAX_HTTP_CONNECTIONS_PER_ADDRESS):
        self.most = most
        self.open_by_group: collections.Counter = collections.Counter()
        self._group_of: dict = {}  # connection -> its group, while it holds a slot
        self.refused = 0

    def room_for(self, host: str | None) -> bool:
        """True if a connection from ``host`` may open; else it is counted as refused."""
        if host is None or self.open_by_group[address_group(host)] < self.most:
            return True
        self.refused += 1
        return False

    def take(self, connection, host: str | None) -> None:
        if host is not None:
            group = address_group(host)
            self.open_by_group[group] += 1
            self._group_of[connection] = group

    def give_back(self, connection) -> None:
        """Free ``connection``'s slot (once; later calls do nothing)."""
        group = self._group_of.pop(connection, None)
        if group is not None:
            self.open_by_group[group] -= 1
            if not self.open_by_group[group]:
                del self.open_by_group[group]
