"""Which server may claim which owner: the owner bindings this server has verified, and the
rules that follow from them (docs/PROTOCOL.md, "Owner bindings").

A binding is opaque here: bytes the owner signed saying "overlay key K serves owner P, until T".
The layer above hands the core a *binding source* with two calls:

    own() -> bytes | None
        our own binding as it goes on the wire, or None while this server is unbound;
    verify(blob, overlay_key, owner, now) -> (rank, expires_at)
        checks that ``blob`` binds ``overlay_key`` to ``owner`` at ``now``, or raises
        ClaimRefused with the reason. ``rank`` orders bindings of one owner: the higher is
        the newer, which replaces the older (rotation, revocation).

:class:`OwnerClaims` asks the source once per (overlay key, owner, blob) and remembers the
answer (bounded). From it come the rules every part of the core applies:

* an owner with a verified, unexpired binding is served only at the overlay key of its newest
  binding (``bound_key``); every other claim of that owner is not believed (``accepts``);
* an owner nobody has shown a binding for is served wherever it is claimed (unbound);
* a binding that expires stops counting: the owner is unbound again until a newer one arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from nostrp2p.bounded import RecentTable
from nostrp2p.logging import Logger
from nostrp2p.mesh import limits


NOBODY = bytes(32)
"""The owner a unicast is said to come from when its sender's claim is not believed (the owner
is bound to another server): no Nostr key, so nothing addressed to anyone is meant for it."""


class ClaimRefused(Exception):
    """A binding that does not support the claim it came with; the message says why."""


class NoBindings:
    """The binding source of a core given none: unbound, and believing no binding (every owner
    is then served wherever it is claimed, as before bindings)."""

    def own(self):
        return None

    def verify(self, blob, overlay_key, owner, now):
        raise ClaimRefused("this server checks no bindings")


@dataclass(frozen=True, slots=True)
class Verified:
    rank: object
    expires_at: float
    blob: bytes


class OwnerClaims:
    log = Logger()

    def __init__(self, node, source=None):
        self.node = node  # the core: identity, counters
        self.source = source if source is not None else NoBindings()
        self.verified = RecentTable(limits.CLAIMS_KEPT)  # (overlay key, owner) -> Verified
        self.newest = RecentTable(limits.CLAIMS_KEPT)  # owner -> overlay key of its newest
        self.warned = RecentTable(limits.CLAIM_WARNINGS_MAX)  # other overlay keys of our owner

    # --- taking bindings in ---------------------------------------------------------------------
    def check(self, overlay_key: bytes, owner: bytes, blob: bytes, now: float) -> bool:
        """Take ``blob`` as the binding of (``overlay_key``, ``owner``): True when it verifies
        and is unexpired, False (counted ``drop_bad_binding``) when it does not."""
        known = self.verified.lookup((overlay_key, owner))  # (kept the longer for its use)
        if known is not None and known.blob == blob:
            return known.expires_at > now  # verified before: no second verification
        try:
            rank, expires_at = self.source.verify(blob, overlay_key, owner, now)
        except ClaimRefused as refused:
            self.node.count("drop_bad_binding")
            self.log.debug("overlay: binding of {owner} at {key} refused: {why}",
                           owner=owner.hex(), key=overlay_key.hex(), why=str(refused))
            return False
        self.node.count("bindings_verified")
        if known is None or rank > known.rank:
            self.verified.keep((overlay_key, owner), Verified(rank, expires_at, blob))
        self._newest(overlay_key, owner, now)
        return True

    def _newest(self, overlay_key, owner, now) -> None:
        entry = self.verified[(overlay_key, owner)]
        current_key = self.newest.get(owner)
        current = self.verified.get((current_key, owner)) if current_key is not None else None
        if current is None or current_key == overlay_key or entry.rank > current.rank:
            self.newest.keep(owner, overlay_key)
        if owner == self.node.identity.owner_key and overlay_key != self.node.identity.public_key:
            self._own_owner_bound_elsewhere(overlay_key, now)

    def _own_owner_bound_elsewhere(self, overlay_key, now) -> None:
        own_key = self.node.identity.public_key
        self.own_binding(now)  # our own binding, if any, competes for "newest" first
        if self.bound_key(self.node.identity.owner_key, now) != overlay_key:
            return  # an older binding of our owner (the machine before this one): superseded
        if overlay_key in self.warned:
            return
        self.warned.keep(overlay_key, now)
        self.node.count("own_owner_bound_elsewhere")
        self.log.warn(
            "overlay: owner {owner} has bound overlay key {other}, not this server's {own}: other "
            "servers will not believe this server serves that owner, and will not send it that "
            "owner's messages; if it should, bind this server (docs/BINDING.md)",
            owner=self.node.identity.owner_key.hex(), other=overlay_key.hex(), own=own_key.hex())

    # --- the rules -----------------------------------------------------------------------------
    def bound_key(self, owner: bytes, now: float) -> bytes | None:
        """The overlay key of ``owner``'s newest verified binding, None while it has none that
        is unexpired (the owner counts as unbound)."""
        overlay_key = self.newest.get(owner)
        if overlay_key is None:
            return None
        entry = self.verified.get((overlay_key, owner))
        if entry is None or entry.expires_at <= now:
            return None
        return overlay_key

    def is_bound(self, overlay_key: bytes, owner: bytes, now: float) -> bool:
        return self.bound_key(owner, now) == overlay_key

    def accepts(self, overlay_key: bytes, owner: bytes, now: float) -> bool:
        """Whether the claim "``overlay_key`` serves ``owner``" is believed: the owner is
        unbound, or bound to that key."""
        bound = self.bound_key(owner, now)
        return bound is None or bound == overlay_key

    def binding_of(self, overlay_key: bytes, owner: bytes, now: float) -> bytes | None:
        """The binding to pass on with a descriptor of (``overlay_key``, ``owner``): only the
        owner's newest, unexpired one."""
        if not self.is_bound(overlay_key, owner, now):
            return None
        return self.verified[(overlay_key, owner)].blob

    def own_binding(self, now: float) -> bytes | None:
        """Our own binding to show, verified as any other (so an expired or wrong one is not
        shown), or None while we are unbound."""
        blob = self.source.own()
        if blob is None:
            return None
        ident = self.node.identity
        if not self.check(ident.public_key, ident.owner_key, blob, now):
            return None
        return blob if self.is_bound(ident.public_key, ident.owner_key, now) else None
