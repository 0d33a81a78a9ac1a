"""Owner bindings: the owner's signed statement "overlay key K serves me, until T, sequence N".

A binding is an ordinary Nostr event (docs/BINDING.md), so any Nostr signer can make one:

    kind    BINDING_KIND (17720, in NIP-01's replaceable range: one per owner, newest kept)
    pubkey  the owner
    tags    ["overlay", <overlay public key, 64 lowercase hex>]
            ["seq", <decimal sequence>]
            ["expiration", <decimal unix time>]   (NIP-40)
    content anything (the bind command leaves it empty)

Each of the three tags must appear exactly once: two overlay keys in one binding would leave
the reader to guess which one the owner meant. The newest binding wins: higher sequence, then
later ``created_at``, then (NIP-01's rule for replaceable events) the lower id. A binding is void
from its expiration on. The overlay key is opaque here (32 bytes); this module knows nothing of
the overlay, which decides what a binding lets a server claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import limits
from .codec import pack_event, unpack_event
from .errors import EventError
from .event import Event
from .signing import sign_event, verify_event

BINDING_KIND = 17720
OVERLAY_TAG = "overlay"
SEQUENCE_TAG = "seq"
EXPIRATION_TAG = "expiration"
OVERLAY_KEY_SIZE = 32

_LOWER_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,18})\Z")


class BindingError(EventError):
    """A binding this server must not believe; ``reason`` is one line a person can act on.

    ``field`` is ``"pubkey"`` when the binding is another owner's (an API answers 403 then)."""


@dataclass(frozen=True, slots=True)
class Binding:
    event: Event
    overlay_key: bytes
    sequence: int
    expires_at: int

    @property
    def owner(self) -> bytes:
        return self.event.pubkey

    @property
    def id(self) -> bytes:
        return self.event.id

    @property
    def created_at(self) -> int:
        return self.event.created_at

    def expired(self, now: float) -> bool:
        # NIP-40: an event is expired at its expiration time, not one second after.
        return now >= self.expires_at

    def supersedes(self, other: "Binding") -> bool:
        """True when this binding replaces ``other`` (the same binding does not)."""
        mine = (self.sequence, self.created_at)
        theirs = (other.sequence, other.created_at)
        if mine != theirs:
            return mine > theirs
        return self.id < other.id  # NIP-01: of two equally new, the lower id is kept


def make_binding(secret: bytes, overlay_key: bytes, sequence: int, expires_at: int,
                 created_at: int, content: str = "") -> Binding:
    """Sign a binding with the owner's secret key (what ``nostrp2p bind`` and tests do)."""
    if len(overlay_key) != OVERLAY_KEY_SIZE:
        raise ValueError(f"an overlay key is {OVERLAY_KEY_SIZE} bytes")
    tags = ((OVERLAY_TAG, overlay_key.hex()), (SEQUENCE_TAG, str(sequence)),
            (EXPIRATION_TAG, str(expires_at)))
    event = sign_event(secret, created_at, BINDING_KIND, tags, content)
    return binding_from_event(event, verify=False)  # just signed: checking it again is waste


def binding_from_event(event: Event, verify: bool = True) -> Binding:
    """Read a binding's fields; with ``verify`` also check its id and BIP-340 signature.

    Raises :class:`BindingError` for anything that is not a well-formed binding."""
    size = len(pack_event(event))
    if size > limits.MAX_BINDING_BYTES:
        raise _too_large(size)
    return read_binding_event(event, verify)


def read_binding_event(event: Event, verify: bool = True) -> Binding:
    """A binding from an event whose packed size is known to be within bounds (decoded by
    :func:`unpack_binding_event`, or checked by :func:`binding_from_event`)."""
    if event.kind != BINDING_KIND:
        raise BindingError("kind", f"a binding is of kind {BINDING_KIND}, not {event.kind}")
    overlay = _single_tag(event, OVERLAY_TAG)
    if not _LOWER_HEX64.match(overlay):
        raise BindingError("tags", "the overlay tag must hold 64 lowercase hex characters")
    sequence = _decimal(event, SEQUENCE_TAG, limits.MAX_BINDING_SEQUENCE)
    expires_at = _decimal(event, EXPIRATION_TAG, limits.MAX_CREATED_AT)
    if expires_at <= event.created_at:
        raise BindingError("tags", "the expiration must be later than created_at")
    binding = Binding(event, bytes.fromhex(overlay), sequence, expires_at)
    if verify:
        verify_binding_signature(binding)
    return binding


def verify_binding_signature(binding: Binding) -> None:
    try:
        verify_event(binding.event)
    except EventError as e:
        raise BindingError(e.field, f"the binding's {e.reason}") from None


def check_binding(binding: Binding, overlay_key: bytes, owner: bytes, now: float) -> None:
    """Refuse a binding that does not say ``overlay_key`` serves ``owner`` now."""
    if binding.owner != owner:
        raise BindingError("pubkey", f"the binding is signed by {binding.owner.hex()}, "
                           f"not by the owner {owner.hex()}")
    if binding.overlay_key != overlay_key:
        raise BindingError("tags", f"the binding is for overlay key {binding.overlay_key.hex()}, "
                           f"not {overlay_key.hex()}")
    if binding.expired(now):
        raise BindingError("tags", f"the binding expired at {binding.expires_at} "
                           f"(unix time; now {int(now)})")


def pack_binding(binding: Binding) -> bytes:
    """The wire form: the project's MessagePack event codec (259 bytes for a binding made by
    ``nostrp2p bind``, docs/BINDING.md)."""
    return pack_event(binding.event)


def unpack_binding(blob: bytes, verify: bool = True) -> Binding:
    return read_binding_event(unpack_binding_event(blob), verify)


def unpack_binding_event(blob: bytes) -> Event:
    """The event in a packed binding, decoded with every bound checked but not yet read as a
    binding (a cache looks its id up first)."""
    if len(blob) > limits.MAX_BINDING_BYTES:
        raise _too_large(len(blob))
    try:
        return unpack_event(blob)
    except EventError as e:
        raise BindingError(e.field, f"not a packed binding: {e.reason}") from None


def _too_large(size: int) -> BindingError:
    return BindingError("event", f"a binding is at most {limits.MAX_BINDING_BYTES} bytes "
                        f"packed; this one is {size}")


def _single_tag(event: Event, name: str) -> str:
    values = event.tag_values(name)
    if len(values) != 1:
        what = "is missing" if not values else f"appears {len(values)} times"
        raise BindingError("tags", f"a binding has exactly one {name!r} tag; it {what}")
    return values[0]


def _decimal(event: Event, name: str, high: int) -> int:
    text = _single_tag(event, name)
    if not _DECIMAL.match(text) or int(text) > high:
        raise BindingError("tags", f"the {name!r} tag must be a decimal integer from 0 to {high}")
    return int(text)
