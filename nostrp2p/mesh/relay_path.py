"""A peer address that is not a UDP address: "through that relay". Datagrams of an end-to-end
session (INIT, RESP, COOKIE, DATA) emitted to a RelayPath travel inside a RELAY over our own
session with the relay, which hands them to the server at the far end as RELAYED (relay.py).
The relay sees sealed bytes only; the far end is believed only when what arrives authenticates
as its static key (links.py, handshakes.py).

Links treats it like any address: a peer's address follows its authenticated frames, so a hole
punched later takes over from a relay path, and a relayed frame on the current session takes
over from a direct address that went quiet."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RelayPath:
    relay: bytes  # overlay key of the relay we hand datagrams to
    far: bytes  # overlay key of the server at the other end, as the path names it
    # How to reach the relay when we hold no session with it (a Descriptor); not part of what
    # the path is, so two paths through one relay to one server are equal whatever it says.
    via: object = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"relay {self.relay.hex()[:16]}"


def is_relayed(address) -> bool:
    return isinstance(address, RelayPath)


def sources(address) -> tuple:
    """Who a handshake from ``address`` is counted against in the half-open table: the IP
    address of a UDP source; for a relay path both the relay and the server it names, so that
    neither one relay nor one origin (through any number of relays) holds more than a source's
    share."""
    if isinstance(address, RelayPath):
        return (b"relay:" + address.relay, b"origin:" + address.far)
    return (address[0],)


def cookie_source(address) -> bytes:
    """What a cookie for ``address`` is bound to (crypto.cookie_for)."""
    if isinstance(address, RelayPath):
        return b"relay\x00" + address.relay + address.far
    host, port = address
    return host.encode("utf-8", "replace") + b"\x00" + port.to_bytes(2, "big")
