"""The one write path of the server's two doors (POST /publish and the relay's EVENT).

Both hand over an event whose id and signature are already verified; it is checked here in
the order docs/API.md gives (deny-write, kind, author, deliverability), stored, and only once
the store has acknowledged it are the node layer (delivery over the overlay) and the live
subscriptions told. An owner binding (docs/BINDING.md) is offered to the server's binding
instead: it is not stored or sent like an ordinary event. A refusal is an :class:`ApiError`;
each door words it its own way.
"""

from __future__ import annotations

from typing import Callable

from ..logging import Logger
from ..node.delivery import ACCEPTED_KINDS, plan_delivery
from ..nostr import Event, EventError
from ..nostr.binding import BINDING_KIND
from .binding import accept_binding
from .errors import ApiError

log = Logger()


class Writer:
    def __init__(self, store, node, owner_pubkey: bytes, writable: bool,
                 on_stored: Callable[[Event], None], binding=None):
        self.store = store
        self.node = node
        self.owner = owner_pubkey
        self.writable = writable
        self.on_stored = on_stored
        self.binding = binding  # ServerBinding, or None: bindings are refused

    def check_writable(self) -> None:
        if not self.writable:
            raise ApiError(403, "server", "this server does not accept writes (deny-write mode)")

    def check(self, event: Event) -> None:
        """ApiError unless the owner's server may store and deliver this event."""
        self.check_writable()
        if event.kind not in ACCEPTED_KINDS:
            raise ApiError(400, "kind", f"kind {event.kind} is not accepted "
                           f"(accepted: {', '.join(map(str, sorted(ACCEPTED_KINDS)))})")
        if event.pubkey != self.owner:
            raise ApiError(403, "pubkey", "only this server's owner may publish here")
        # The node must be able to deliver what is stored (a reaction names its author).
        try:
            plan_delivery(event, self.owner)
        except EventError as e:
            raise ApiError(400, e.field, e.reason) from None

    async def publish(self, event: Event) -> bool:
        """Check, store and deliver; whether the event was new (False: already held, and
        not delivered again). A binding: whether it became the server's current one."""
        if event.kind == BINDING_KIND:
            self.check_writable()
            return accept_binding(self.binding, event)
        self.check(event)
        try:
            new = await self.store.add(event)
        except Exception as e:
            log.warn("the store did not take {event_id}: {error}", event_id=event.id_hex,
                     error=repr(e))
            raise ApiError(503, "store", f"the event could not be stored: {type(e).__name__}")
        if new:
            try:
                self.node.published(event)
            except Exception:
                # Stored is what the client was promised; delivery problems are the node's.
                log.failure("the node layer failed on published {event_id}", event_id=event.id_hex)
            self.on_stored(event)
        return new
