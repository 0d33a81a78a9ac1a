"""Verify a received binding once, then remember it.

The overlay receives the same binding again and again (with every handshake, descriptor and
FOUND answer naming a server); a BIP-340 verification costs far more than a dictionary look-up.
:meth:`BindingCache.verify` takes the raw bytes as they came off the wire and the claim they
are meant to support, and answers with the verified :class:`Binding` or raises
:class:`~nostrp2p.nostr.binding.BindingError`.

Entries are keyed by (overlay key, owner, binding id). The id a sender writes is only claimed,
but a hit returns the binding verified earlier under that id, whose content the id commits to
(SHA-256): a sender can make us reuse what the owner really signed, never anything else. So a
known id is answered from the cache before the rest of the bytes are even decoded.
Failures are not remembered: a forged copy carrying a real binding's id must not keep the real
one out. Expiry is checked on every call, since time moves on while an entry is cached.
"""

from __future__ import annotations

from collections import OrderedDict

from . import limits
from .binding import (Binding, check_binding, read_binding_event, unpack_binding_event,
                      verify_binding_signature)


# A packed event starts with a msgpack array of 7 and a bin 8 of 32 bytes: the id.
_PACKED_ID_PREFIX = b"\x97\xc4\x20"
_PACKED_ID = slice(len(_PACKED_ID_PREFIX), len(_PACKED_ID_PREFIX) + 32)


class BindingCache:
    def __init__(self, max_entries: int = limits.BINDINGS_CACHED):
        if max_entries < 1:
            raise ValueError("a binding cache holds at least one entry")
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[bytes, bytes, bytes], Binding] = OrderedDict()
        self.hits = 0
        self.verifications = 0  # signatures checked (each miss that got that far)

    def __len__(self) -> int:
        return len(self._entries)

    def verify(self, blob: bytes, overlay_key: bytes, owner: bytes, now: float) -> Binding:
        """The binding in ``blob`` if it says ``overlay_key`` serves ``owner`` at ``now``."""
        if blob.startswith(_PACKED_ID_PREFIX):
            # A known id needs no decoding at all (what follows it is not read: see above).
            hit = self._hit((overlay_key, owner, blob[_PACKED_ID]), now)
            if hit is not None:
                return hit
        event = unpack_binding_event(blob)
        key = (overlay_key, owner, event.id)
        hit = self._hit(key, now)
        if hit is not None:
            return hit
        # The cheap refusals first: a mismatched claim costs no signature check.
        binding = read_binding_event(event, verify=False)
        check_binding(binding, overlay_key, owner, now)
        self.verifications += 1
        verify_binding_signature(binding)
        self._entries[key] = binding
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return binding

    def _hit(self, key, now: float) -> Binding | None:
        binding = self._entries.get(key)
        if binding is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        check_binding(binding, key[0], key[1], now)  # only expiry can fail here
        return binding
