"""What the node believes of events from other servers: the same checks for broadcasts,
unicasts, share answers and replies to its own requests.

Checked cheapest first, so that a flood costs little: per-peer budget, kind, date, copies
already held (one store lookup), signature, then the per-author cap; only then stored. The
store applies the replaceable rule (a kind 0 or 3 replaces the current one only when newer).
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from twisted.internet.defer import gatherResults

from ..logging import Logger
from ..nostr import Event, EventError, verify_event
from . import limits
from .delivery import ACCEPTED_KINDS
from .ratelimit import RateLimiter

log = Logger()


class Intake:
    def __init__(self, store, clock, counters: Counter, peer_events_per_minute: int,
                 author_events_per_hour: int):
        self.store = store
        self.clock = clock
        self.counters = counters
        self._peer_events = RateLimiter(peer_events_per_minute, 60, limits.RATE_TABLE_SIZE)
        self._author_events = RateLimiter(author_events_per_hour, 3600, limits.RATE_TABLE_SIZE)
        # Ids being looked up or stored right now: copies arriving meanwhile (share answers
        # from several servers at once) are copies, not new events. At most
        # MAX_TASKS_IN_FLIGHT x MAX_EVENTS_PER_MESSAGE ids.
        self._pending: set[bytes] = set()

    def admit_message(self, origin) -> bool:
        """Whether a message from this peer (its budget key) is worth decoding (each costs one
        event)."""
        if self._peer_events.allow(origin, self.clock.seconds()):
            return True
        self.counters["peer_rate_limited"] += 1
        return False

    async def accept(self, events: Iterable[Event], origin: bytes, admitted: bool,
                     charge=None) -> int:
        """Verify and store events from ``origin``; how many were new. ``charge``: the budget
        key they are charged to (``origin`` unless given: a broadcast is charged to the
        neighbour that handed it over, in a key of its own). ``admitted``: the message
        was already charged one event by :meth:`admit_message` (the rest are charged here);
        False for replies to this server's own requests, which the peer did not choose to send."""
        now = self.clock.seconds()
        candidates = {}
        for event in events:
            if event.kind not in ACCEPTED_KINDS:
                self.counters["kind_refused"] += 1
            elif event.created_at > now + limits.MAX_FUTURE_SECONDS:
                self.counters["future_refused"] += 1
            else:
                candidates.setdefault(event.id, event)
        fresh = [e for e in candidates.values() if e.id not in self._pending]
        self.counters["duplicates"] += len(candidates) - len(fresh)
        if admitted and len(fresh) > 1:
            granted = 1 + self._peer_events.take(origin if charge is None else charge, now,
                                                 len(fresh) - 1)
            if granted < len(fresh):
                self.counters["peer_rate_limited"] += len(fresh) - granted
                fresh = fresh[:granted]
        if not fresh:
            return 0
        ids = [e.id for e in fresh]
        self._pending.update(ids)
        try:
            return await self._store_new(fresh, origin, now)
        finally:
            self._pending.difference_update(ids)

    async def _store_new(self, fresh: list[Event], origin: bytes, now: float) -> int:
        held = {e.id for e in await self.store.get([e.id for e in fresh])}
        self.counters["duplicates"] += len(held)
        to_store = []
        for event in fresh:
            if event.id in held:
                continue
            try:
                verify_event(event)
            except EventError as e:
                self.counters["bad_signature"] += 1
                log.debug("dropped {event_id} from {origin}: {field} {why}", event_id=event.id_hex,
                          origin=origin.hex(), field=e.field, why=e.reason)
                continue
            # After the signature: forged events must not use up a real author's budget.
            if not self._author_events.allow(event.pubkey, now):
                self.counters["author_rate_limited"] += 1
                continue
            to_store.append(event)
        added = await gatherResults([self.store.add(e) for e in to_store], consumeErrors=True)
        stored = sum(1 for new in added if new)
        self.counters["stored"] += stored
        return stored
