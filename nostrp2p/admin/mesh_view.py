"""The overlay as the admin endpoint sees it: the one module that reads the mesh's state.

MeshService's public methods (``peers()``, ``stats()``, ``overlay_key``, ``address``,
``bootstrap``) give most of it. What the mesh does not publish yet (sessions, the public address
and NAT type it learned, the servers it reaches through relays) is read from the core here, and
only here, each in one small method that answers "unknown" rather than fail when the core is
shaped differently: a change inside the mesh then means changing this file alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from nostrp2p.mesh.relay_path import is_relayed

UNKNOWN_NAT = "unknown"


@dataclass(frozen=True)
class Contact:
    """A server this one has a session with, or reaches through ``via``."""

    overlay_key: bytes
    owner_key: bytes | None
    address: tuple | None
    last_heard: float | None = None
    via: bytes | None = None


class MeshView:
    def __init__(self, mesh):
        self.mesh = mesh

    @property
    def _core(self):
        return getattr(self.mesh, "node", None)

    def running(self) -> bool:
        core = self._core
        return core is not None and bool(getattr(core, "running", False))

    def overlay_key(self) -> bytes | None:
        try:
            return self.mesh.overlay_key
        except AttributeError:  # not started yet
            return None

    def listen_address(self) -> tuple | None:
        try:
            return tuple(self.mesh.address)
        except AttributeError:
            return None

    def bootstrap(self) -> tuple:
        return tuple(getattr(self.mesh, "bootstrap", ()))

    def relay_bytes_per_second(self) -> int:
        return int(getattr(self.mesh, "relay_bytes_per_second", 0))

    def counters(self) -> dict:
        return dict(self.mesh.stats())

    def neighbours(self) -> list[Contact]:
        """The active neighbours (the servers broadcasts go to)."""
        return [Contact(p.overlay_key, p.owner_key, tuple(p.address) if p.address else None,
                        p.last_heard) for p in self.mesh.peers()]

    def sessions(self) -> list[Contact]:
        """Every server with an established direct session (neighbours and others)."""
        core = self._core
        links = getattr(getattr(core, "links", None), "peers", None) or {}
        return [Contact(static, peer.owner, tuple(peer.address) if peer.address else None,
                        peer.last_recv)
                for static, peer in list(links.items())
                if peer.current is not None and not is_relayed(peer.address)]

    def relayed(self) -> list[Contact]:
        """Servers reached only through a relay just now: no direct session, a relay chosen."""
        core = self._core
        reachability = getattr(core, "reachability", None)
        if reachability is None:
            return []
        direct = {c.overlay_key for c in self.sessions()}
        return [Contact(destination, reachability.owner_of(destination), None, via=via.overlay_key)
                for destination, via in list(reachability.routes.items()) if destination not in direct]

    def relay_pairs(self) -> int:
        """(origin, destination) pairs this server passes traffic on for just now."""
        allowance = getattr(getattr(self._core, "relay", None), "allowance", None)
        return len(getattr(allowance, "pairs", ()))

    def public_addresses(self) -> list[tuple]:
        """Where other servers (or STUN servers) see this one's datagrams come from, most
        reported first."""
        traversal = getattr(self._core, "traversal", None)
        if traversal is None:
            return []
        return [tuple(a) for a in traversal.reflexive_addresses()]

    def nat_type(self) -> str:
        """"endpoint-independent", "endpoint-dependent" (symmetric) or "unknown"."""
        return str(getattr(getattr(self._core, "traversal", None), "behaviour", UNKNOWN_NAT))
