"""Owner bindings as the overlay takes them: the binding source the overlay core is given
(nostrp2p/mesh/claims.py says what it asks). The core treats bindings as opaque bytes; this is
where they are read as Nostr events and their BIP-340 signatures checked, once each
(:class:`~nostrp2p.nostr.binding_cache.BindingCache`)."""

from __future__ import annotations

from typing import Callable, Optional

from ..mesh.claims import ClaimRefused
from ..nostr.binding import Binding, BindingError, pack_binding
from ..nostr.binding_cache import BindingCache


def binding_rank(binding: Binding) -> tuple:
    """Orders bindings of one owner as :meth:`Binding.supersedes` does: higher sequence, then
    later created_at, then the lower id (its bytes inverted, so that higher ranks newer)."""
    return (binding.sequence, binding.created_at, bytes(255 - b for b in binding.id))


class OverlayBindings:
    """``own`` is called for our current binding (a ``/publish`` may replace it while the
    server runs), None while unbound; ``cache`` remembers verified bindings."""

    def __init__(self, own: Callable[[], Optional[Binding]], cache: Optional[BindingCache] = None):
        self._own = own
        self.cache = cache if cache is not None else BindingCache()
        self._packed: tuple[bytes, bytes] | None = None  # (id, packed) of our current binding

    def own(self) -> bytes | None:
        binding = self._own()
        if binding is None:
            return None
        if self._packed is None or self._packed[0] != binding.id:
            self._packed = (binding.id, pack_binding(binding))
        return self._packed[1]

    def verify(self, blob: bytes, overlay_key: bytes, owner: bytes, now: float):
        try:
            binding = self.cache.verify(blob, overlay_key, owner, now)
        except BindingError as e:
            raise ClaimRefused(e.reason) from None
        return binding_rank(binding), binding.expires_at
