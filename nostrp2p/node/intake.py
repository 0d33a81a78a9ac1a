"""What the node believes of events from other servers: the same checks for broadcasts,
unicasts, share answers and replies to its own requests.

Checked cheapest first, so that a flood costs little: per-peer budget, kind, date, copies
already held (from memory; a store lookup only when unsure), signature, then the per-author
cap; only then stored. The store applies the replaceable rule (a kind 0 or 3 replaces the
current one only when newer).
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Iterable

from twisted.internet.defer import Deferred, succeed

from ..logging import Logger
from ..nostr import Event, EventError, verify_event
from . import limits
from .delivery import ACCEPTED_KINDS, kept_by
from .ratelimit import RateLimiter

log = Logger()


class Intake:
    def __init__(self, store, clock, counters: Counter, peer_events_per_minute: int,
                 author_events_per_hour: int, owner: bytes):
        self.store = store
        self.owner = owner
        self.clock = clock
        self.counters = counters
        self._peer_events = RateLimiter(peer_events_per_minute, 60, limits.RATE_TABLE_SIZE)
        self._author_events = RateLimiter(author_events_per_hour, 3600, limits.RATE_TABLE_SIZE)
        # Ids being looked up or stored right now: copies arriving meanwhile (share answers
        # from several servers at once) are copies, not new events. At most
        # MAX_TASKS_IN_FLIGHT x MAX_EVENTS_PER_MESSAGE ids.
        self._pending: set[bytes] = set()
        # Told of each event stored here (Node.listen): live subscriptions of the relay.
        self.on_stored: Callable[[Event], None] = lambda event: None

    def admit_message(self, origin) -> bool:
        """Whether a message from this peer (its budget key) is worth decoding (each costs one
        event)."""
        if self._peer_events.allow(origin, self.clock.seconds()):
            return True
        self.counters["peer_rate_limited"] += 1
        return False

    def accept(self, events: Iterable[Event], origin: bytes, admitted: bool,
               charge=None) -> Deferred:
        """Verify and store events from ``origin``; fires with how many were new. ``charge``: the
        budget key they are charged to (``origin`` unless given: a broadcast is charged to the
        neighbour that handed it over, a unicast to the session it arrived on, each in a key of
        its own; ``origin`` is only claimed). ``admitted``: the message was
        already charged one event by :meth:`admit_message` (the rest are charged here); False
        for replies to this server's own requests, which the peer did not choose to send.

        Plain Deferred callbacks rather than a coroutine, and the work done before the one
        store call: this runs once per datagram, and the store writes the events of all the
        datagrams of a reactor turn in one call."""
        now = self.clock.seconds()
        candidates = {}
        for event in events:
            if event.kind not in ACCEPTED_KINDS:
                self.counters["kind_refused"] += 1
            elif event.created_at > now + limits.MAX_FUTURE_SECONDS:
                self.counters["future_refused"] += 1
            elif not kept_by(event, self.owner):  # a mention, reply or reaction for another
                self.counters["not_addressed_here"] += 1
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
            return succeed(0)
        ids = [e.id for e in fresh]
        self._pending.update(ids)
        # Copies are found in memory (the window, a filter of recently added ids) rather than
        # by a Redis read per message; only the filter's "perhaps" is checked in Redis.
        held, perhaps = self.store.recall(ids)
        if perhaps:
            stored = self.store.get(perhaps).addCallback(
                lambda found: self._store_new(fresh, held | {e.id for e in found}, origin, now))
        else:
            stored = self._store_new(fresh, held, origin, now)

        def done(result):
            self._pending.difference_update(ids)
            return result
        return stored.addBoth(done)

    def _store_new(self, fresh: list[Event], held: set[bytes], origin: bytes,
                   now: float) -> Deferred:
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
        if not to_store:
            return succeed(0)
        return self.store.add_all(to_store).addCallback(self._count_stored, to_store)

    def _count_stored(self, added: list[bool], to_store: list[Event]) -> int:
        stored = 0
        for event, new in zip(to_store, added):
            if new:
                stored += 1
                self.on_stored(event)
        # A copy of an event too old for the filter's memory is found by the store itself.
        self.counters["duplicates"] += len(added) - stored
        self.counters["stored"] += stored
        return stored
