"""How one server is named to another: overlay key, owner key and the address it was seen at."""

from __future__ import annotations

from dataclasses import dataclass

from nostrp2p.mesh import wire


@dataclass(frozen=True)
class Descriptor:
    overlay_key: bytes
    owner: bytes
    host: str
    port: int

    @property
    def address(self):
        return (self.host, self.port)

    def encode(self) -> list:
        return [self.overlay_key, self.owner, self.host, self.port]

    @classmethod
    def decode(cls, value) -> "Descriptor":
        fields = wire.want_list(value, 4)
        if len(fields) != 4:
            raise wire.MalformedFrame("a descriptor has 4 fields")
        return cls(
            wire.want_bytes(fields[0], 32),
            wire.want_bytes(fields[1], 32),
            wire.want_host(fields[2]),
            wire.want_int(fields[3], 0, 65535),
        )


@dataclass(frozen=True)
class PeerStatus:
    """What ``peers()`` reports for one active neighbour."""

    overlay_key: bytes
    owner_key: bytes
    address: tuple
    eager: bool
    last_heard: float
