"""The one write path of the server's two doors (POST /publish and the relay's EVENT).

Both hand over an event whose id and signature are already verified; it is checked here in
the order docs/API.md gives (deny-write, kind, author, deliverability), stored, and only once
the store has acknowledged it are the node layer (delivery over the overlay) and the live
subscriptions told. An owner binding (docs/BINDING.md) is offered to the server's binding
instead: it is not stored or sent like an ordinary event. A refusal is an :class:`ApiError`;
each door words it its own way.

A write has a deadline (deadline.py): past it the client hears 503, and the write goes on. If
it completes, its event is delivered then, exactly once however the client retries: a retry of
an event whose write is still going waits for that write (no second add), and a retry the store
answers "not new" delivers the event if the earlier write failed without telling whether Redis
applied it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Optional

from twisted.internet.defer import Deferred, ensureDeferred

from ..logging import Logger
from ..node.delivery import ACCEPTED_KINDS, plan_delivery
from ..nostr import Event, EventError
from ..nostr.binding import BINDING_KIND
from . import limits
from .binding import accept_binding
from .deadline import within
from .errors import ApiError

log = Logger()


class Writer:
    def __init__(self, store, node, owner_pubkey: bytes, writable: bool,
                 on_stored: Callable[[Event], None], binding=None, clock=None):
        if clock is None:
            from twisted.internet import reactor as clock
        self.store = store
        self.node = node
        self.owner = owner_pubkey
        self.writable = writable
        self.on_stored = on_stored
        self.binding = binding  # ServerBinding, or None: bindings are refused
        self.clock = clock  # for the store deadline
        self._writing: dict[bytes, Deferred] = {}  # event id -> its write, while it runs
        self._unsettled: OrderedDict[bytes, None] = OrderedDict()  # writes that failed unseen

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
        write = self._writing.get(event.id)
        if write is None:
            if len(self._writing) >= limits.MAX_WRITES_WAITING:
                raise ApiError(503, "store", "too many events wait for the store; try again later")
            write = self._writing[event.id] = ensureDeferred(self._store_and_deliver(event))
            write.addBoth(self._written, event.id)
        new, refusal = await within(write, self.clock, "the store did not take the event in "
                                                       "time; try again later")
        if refusal is not None:
            raise refusal
        return new

    def _written(self, outcome, event_id: bytes):
        del self._writing[event_id]
        return outcome

    async def _store_and_deliver(self, event: Event) -> tuple[bool, Optional[ApiError]]:
        """(new, None) once stored, and delivered if new; (False, the ApiError to answer) if
        the store failed. Never fails and is never cancelled: a deadline or a client that hangs
        up leaves it running, so a write that completes late is still delivered."""
        try:
            new = await self.store.add(event)
        except Exception as e:
            log.warn("the store did not take {event_id}: {error}", event_id=event.id_hex,
                     error=repr(e))
            # Redis may have applied it all the same (the connection broke before the reply):
            # a retry will hear "not new" and must still deliver it.
            self._unsettled[event.id] = None
            while len(self._unsettled) > limits.MAX_UNSETTLED_WRITES:
                self._unsettled.popitem(last=False)
            return False, ApiError(503, "store",
                                   f"the event could not be stored: {type(e).__name__}")
        unsettled = self._unsettled.pop(event.id, False) is None
        if new or unsettled:
            try:
                self.node.published(event)
            except Exception:
                # Stored is what the client was promised; delivery problems are the node's.
                log.failure("the node layer failed on published {event_id}", event_id=event.id_hex)
            self.on_stored(event)
        return new, None
