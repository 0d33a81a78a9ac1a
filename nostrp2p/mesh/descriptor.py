"""How one server is named to another: overlay key, owner key and the address it was seen at,
and in a FOUND answer the owner's binding of that overlay key (docs/PROTOCOL.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nostrp2p.mesh import limits, wire


@dataclass(frozen=True)
class Descriptor:
    overlay_key: bytes
    owner: bytes
    host: str
    port: int
    binding: bytes | None = None  # as received: believed only once verified (claims.py)

    @property
    def address(self):
        return (self.host, self.port)

    def unbound(self) -> "Descriptor":
        """The same descriptor without its binding (what tables keep: bindings are kept once,
        verified, by OwnerClaims)."""
        return self if self.binding is None else replace(self, binding=None)

    def encode(self) -> list:
        fields = [self.overlay_key, self.owner, self.host, self.port]
        return fields if self.binding is None else fields + [self.binding]

    @classmethod
    def decode(cls, value, with_binding: bool = False) -> "Descriptor":
        """A descriptor of 4 fields; ``with_binding``: or 5, the fifth a binding (FOUND)."""
        most = 5 if with_binding else 4
        fields = wire.want_list(value, most)
        if not 4 <= len(fields) <= most:
            raise wire.MalformedFrame(f"a descriptor has 4 fields{' or 5' if with_binding else ''}")
        binding = None
        if len(fields) == 5:
            binding = wire.want_bytes(fields[4])
            if not binding or len(binding) > limits.MAX_BINDING_SIZE:
                raise wire.MalformedFrame(f"a binding is 1 to {limits.MAX_BINDING_SIZE} bytes")
        return cls(
            wire.want_bytes(fields[0], 32),
            wire.want_bytes(fields[1], 32),
            wire.want_host(fields[2]),
            wire.want_int(fields[3], 0, 65535),
            binding,
        )


@dataclass(frozen=True)
class PeerStatus:
    """What ``peers()`` reports for one active neighbour."""

    overlay_key: bytes
    owner_key: bytes
    address: tuple
    eager: bool
    last_heard: float
