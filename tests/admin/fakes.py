"""A stand-in for the overlay as the admin endpoint reads it (admin.mesh_view.MeshView)."""

from __future__ import annotations

from nostrp2p.admin.mesh_view import Contact


class FakeView:
    def __init__(self, bootstrap=(), neighbours=(), sessions=(), relayed=(), public=(),
                 nat="unknown", listen=("0.0.0.0", 20000), counters=None, running=True):
        self._bootstrap = tuple(bootstrap)
        self._neighbours = list(neighbours)
        self._sessions = list(sessions)
        self._relayed = list(relayed)
        self._public = list(public)
        self._nat = nat
        self._listen = listen
        self._counters = dict(counters or {})
        self._running = running

    def running(self): return self._running
    def overlay_key(self): return b"\x0a" * 32
    def listen_address(self): return self._listen
    def bootstrap(self): return self._bootstrap
    def relay_bytes_per_second(self): return 1024 * 1024
    def counters(self): return dict(self._counters)
    def neighbours(self): return list(self._neighbours)
    def sessions(self): return list(self._sessions)
    def relayed(self): return list(self._relayed)
    def relay_pairs(self): return 0
    def public_addresses(self): return list(self._public)
    def nat_type(self): return self._nat


def contact(n: int, address=("127.0.0.1", 30000), last_heard=0.0, via=None) -> Contact:
    return Contact(bytes([n]) * 32, bytes([n + 100]) * 32, address, last_heard, via)
