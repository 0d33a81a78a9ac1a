"""Which client addresses are the owner's, for the fetch budget of /req (node/fetcher.py).

The owner's client is recognised by where it talks from: a loopback address (a client on the
server's own machine, or a reverse proxy there: then every client counts as the owner's), or
an address from which a new event signed by the owner was published in the last
OWNER_ADDRESS_SECONDS. Only the owner can sign a new event, so a stranger cannot earn this; a
stranger who shares the owner's address (the same NAT) shares the owner's budget too. On the
relay interface, a connection authenticated as the owner (NIP-42) or from a loopback address is
the owner's client (relay/connection.py).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from typing import Optional

from . import limits


class OwnerClients:
    def __init__(self, clock):
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # address -> last owner publish

    def published_from(self, address: Optional[str]) -> None:
        """A new event of the owner's was published from ``address``."""
        if address is None:
            return
        self._seen.pop(address, None)
        self._seen[address] = self.clock.seconds()
        while len(self._seen) > limits.MAX_OWNER_ADDRESSES:
            self._seen.popitem(last=False)

    def fetch_client(self, address: Optional[str]) -> Optional[str]:
        """None for the owner's client (no address: a Unix socket, local too), else the
        address, whose fetches are bounded."""
        if local_or_none(address) is None:
            return None
        seen = self._seen.get(address)
        if seen is not None and self.clock.seconds() - seen < limits.OWNER_ADDRESS_SECONDS:
            return None
        return address


def client_address(request) -> Optional[str]:
    return getattr(request.getClientAddress(), "host", None)


def local_or_none(address: Optional[str]) -> Optional[str]:
    """None for a client on this machine (loopback, or no address: a Unix socket), whose
    fetches are the owner's, else the address."""
    try:
        if address is None or ipaddress.ip_address(address).is_loopback:
            return None
    except ValueError:
        pass
    return address
