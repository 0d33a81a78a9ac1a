"""NAT boxes for the simulator: servers behind them get a private address, their datagrams leave
from a public mapping, and what comes back is let in or dropped the way real NATs do (RFC 4787
terms): endpoint-independent mapping with endpoint-independent (full cone), address-dependent
(address-restricted) or address-and-port-dependent (port-restricted) filtering, or an
address-and-port-dependent mapping (symmetric). Mappings expire when idle."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class NatType(enum.Enum):
    FULL_CONE = "full-cone"
    ADDRESS_RESTRICTED = "address-restricted"
    PORT_RESTRICTED = "port-restricted"
    SYMMETRIC = "symmetric"


DEFAULT_MAPPING_TIMEOUT = 60.0  # seconds a mapping lives without outbound traffic
FIRST_PUBLIC_PORT = 40000
MAX_MAPPINGS = 4096  # a home router's table is bounded too


@dataclass
class _Mapping:
    internal: tuple
    public_port: int
    remote: tuple | None  # the one remote of a symmetric mapping
    allowed: dict = field(default_factory=dict)  # remote host or (host, port) -> last sent
    last_out: float = 0.0


class NatBox:
    def __init__(self, name: str, kind: NatType, mapping_timeout: float = DEFAULT_MAPPING_TIMEOUT,
                 number: int = 0):
        # Hosts are IP literals, as on the real overlay: the ``number``th box of a network is
        # public at 203.0.113.(number+1) (TEST-NET-3) and numbers its inside 172.(16+number).x.y.
        self.name = name
        self.public_host = f"203.0.113.{number + 1}"
        self._inside = f"172.{16 + number}."
        self.kind = kind
        self.mapping_timeout = mapping_timeout
        self._by_key: dict[tuple, _Mapping] = {}
        self._by_port: dict[int, _Mapping] = {}
        self._next_port = FIRST_PUBLIC_PORT
        self.dropped = 0

    def private_address(self, index: int, port: int = 7000) -> tuple:
        return (f"{self._inside}{index >> 8 & 255}.{index & 255}", port)

    def owns(self, address) -> bool:
        return isinstance(address[0], str) and address[0].startswith(self._inside)

    def outbound(self, internal, remote, now: float) -> tuple:
        """The public source address a datagram from ``internal`` to ``remote`` leaves with."""
        key = (internal, remote) if self.kind is NatType.SYMMETRIC else (internal,)
        mapping = self._by_key.get(key)
        if mapping is not None and now - mapping.last_out > self.mapping_timeout:
            self._forget(key, mapping)
            mapping = None
        if mapping is None:
            if len(self._by_key) >= MAX_MAPPINGS:
                oldest = min(self._by_key.items(), key=lambda item: item[1].last_out)
                self._forget(*oldest)
            mapping = _Mapping(internal, self._next_port,
                               remote if self.kind is NatType.SYMMETRIC else None)
            self._next_port += 1
            self._by_key[key] = mapping
            self._by_port[mapping.public_port] = mapping
        mapping.last_out = now
        mapping.allowed[remote[0]] = now
        mapping.allowed[remote] = now
        return (self.public_host, mapping.public_port)

    def inbound(self, public_port: int, remote, now: float):
        """The internal address a datagram from ``remote`` to our ``public_port`` goes to, or
        None when the NAT drops it."""
        mapping = self._by_port.get(public_port)
        if mapping is None or now - mapping.last_out > self.mapping_timeout:
            self.dropped += 1
            return None
        if self.kind is NatType.FULL_CONE:
            return mapping.internal
        # Each remote's permission lives as long as traffic goes out to it (a conntrack entry).
        key = remote[0] if self.kind is NatType.ADDRESS_RESTRICTED else remote
        sent = mapping.allowed.get(key)
        if sent is None or now - sent > self.mapping_timeout:
            self.dropped += 1
            return None
        return mapping.internal

    def restart(self) -> None:
        """A router restart: every mapping is forgotten, so what goes out next leaves from a new
        public port (ports are not reused), and what comes in for the old ones is dropped."""
        self._by_key.clear()
        self._by_port.clear()

    def _forget(self, key, mapping) -> None:
        self._by_key.pop(key, None)
        self._by_port.pop(mapping.public_port, None)
