"""What the node believes of events from other servers: the same checks for broadcasts,
unicasts, share answers and replies to its own requests.

Checked cheapest first, so that a flood costs little: per-peer budget, kind, date, copies
already held (from memory; a store lookup only when unsure), signature, then the per-author
cap; only then stored. The store applies the replaceable rule (a kind 0 or 3 replaces the
current one only when newer).

Broadcasts and unicasts (:meth:`Intake.receive`) are checked as they come and verified and
stored once per reactor turn, all of the turn's messages together: most carry one event, and
the bookkeeping of a message on its own (a job, the store call, the answers) cost as much as
verifying its event. Answers to this server's own requests go through :meth:`Intake.accept`.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Optional, Sequence

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.python.failure import Failure

from ..logging import Logger
from ..nostr import Event
from ..nostr.signing import signatures_valid
from . import limits
from .delivery import ACCEPTED_KINDS, kept_by
from .ratelimit import RateLimiter
from .tasks import TaskSet

log = Logger()


class Intake:
    def __init__(self, store, clock, counters: Counter, peer_events_per_minute: int,
                 author_events_per_hour: int, owner: bytes, tasks=None, turns=None):
        self.store = store
        self.owner = owner
        self.clock = clock
        self.counters = counters
        self.tasks = tasks if tasks is not None else TaskSet(limits.MAX_TASKS_IN_FLIGHT, counters)
        # The end of the reactor turn, when the messages received in it are stored together: a
        # matter of the reactor, not of time (a test's fake clock does not run it).
        if turns is None:
            from twisted.internet import reactor as turns
        self._turns = turns
        self._peer_events = RateLimiter(peer_events_per_minute, 60, limits.RATE_TABLE_SIZE)
        self._author_events = RateLimiter(author_events_per_hour, 3600, limits.RATE_TABLE_SIZE)
        # Ids being looked up or stored right now: copies arriving meanwhile (share answers
        # from several servers at once) are copies, not new events. At most
        # MAX_TASKS_IN_FLIGHT x MAX_EVENTS_PER_MESSAGE ids.
        self._pending: set[bytes] = set()
        # The messages of this reactor turn not stored yet (receive()): their events with the
        # origin of each, how many messages (each reserved room in the task set), and the
        # Deferred the task set waits for.
        self._batch: list[tuple[Event, bytes]] = []
        self._batch_messages = 0
        self._batch_done: Optional[Deferred] = None
        self._flush_call = None
        # Told of each event stored here (Node.listen): live subscriptions of the relay.
        self.on_stored: Callable[[Event], None] = lambda event: None

    def admit_message(self, origin) -> bool:
        """Whether a message from this peer (its budget key) is worth decoding (each costs one
        event)."""
        if self._peer_events.allow(origin, self.clock.seconds()):
            return True
        self.counters["peer_rate_limited"] += 1
        return False

    def receive(self, events: Sequence[Event], origin: bytes, charge, what: str) -> None:
        """The events of a broadcast or unicast (already charged one event by
        :meth:`admit_message`, the rest charged to ``charge`` here): checked now, then verified
        and stored with those of every other message of this reactor turn, in one pass and one
        store call. Each message takes room in the task set until its batch is stored, so a
        flood faster than the store is dropped and counted (``busy_dropped``), not queued."""
        if not self.tasks.reserve(what):
            return
        fresh = self._candidates(events, origin, True, charge, self.clock.seconds())
        if len(self._batch) + len(fresh) > limits.INTAKE_BATCH_MAX:
            self.flush()
        if self._batch_done is None:
            self._batch_done = Deferred()
            self.tasks.hold(self._batch_done, "storing arrivals")
            self._flush_call = self._turns.callLater(0, self.flush)
        self._batch_messages += 1
        self._pending.update(e.id for e in fresh)
        self._batch.extend((e, origin) for e in fresh)

    def flush(self) -> None:
        """Verify and store the batch now (normally at the end of the reactor turn)."""
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        batch, self._batch = self._batch, []
        messages, self._batch_messages = self._batch_messages, 0
        done, self._batch_done = self._batch_done, None
        if done is None:
            return
        fresh = [event for event, _ in batch]
        origins = {event.id: origin for event, origin in batch}
        stored = self._recall_and_store(fresh, origins, self.clock.seconds())

        def finished(result):
            self.tasks.release(messages)
            if isinstance(result, Failure):
                done.errback(result)
            else:
                done.callback(result)
        stored.addBoth(finished)

    def accept(self, events: Sequence[Event], origin: bytes, admitted: bool,
               charge=None) -> Deferred:
        """Verify and store events from ``origin``; fires with how many were new. ``charge``: the
        budget key they are charged to (``origin`` unless given: a broadcast is charged to the
        neighbour that handed it over, a unicast to the session it arrived on, each in a key of
        its own; ``origin`` is only claimed). ``admitted``: the message was
        already charged one event by :meth:`admit_message` (the rest are charged here); False
        for replies to this server's own requests, which the peer did not choose to send."""
        now = self.clock.seconds()
        fresh = self._candidates(events, origin, admitted, charge, now)
        if not fresh:
            return succeed(0)
        self._pending.update(e.id for e in fresh)
        return self._recall_and_store(fresh, dict.fromkeys((e.id for e in fresh), origin), now)

    def _candidates(self, events: Sequence[Event], origin: bytes, admitted: bool, charge,
                    now: float) -> list[Event]:
        """The events worth a look in the store: accepted kind, date and addressee, not
        already on their way in, within the sender's budget."""
        if len(events) == 1:  # most messages: one post handed on
            event = events[0]
            if (event.kind in ACCEPTED_KINDS and event.created_at <= now + limits.MAX_FUTURE_SECONDS
                    and event.id not in self._pending and kept_by(event, self.owner)):
                return [event]
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
        return fresh

    def _recall_and_store(self, fresh: list[Event], origins: dict[bytes, bytes],
                          now: float) -> Deferred:
        """Store those of ``fresh`` (all in ``_pending``) not held yet; fires with how many
        were new, and takes them out of ``_pending`` whatever happens."""
        ids = [e.id for e in fresh]

        def store_new(recalled):
            held, perhaps = recalled
            if not perhaps:
                return self._store_new(fresh, held, origins, now)
            return self.store.get(perhaps).addCallback(
                lambda found: self._store_new(fresh, held | {e.id for e in found}, origins, now))

        # Copies are found in memory (the window, a filter of recently added ids) rather than
        # by a Redis read per message; only the filter's "perhaps" is checked in Redis. Whatever
        # fails on the way, the batch's Deferred fails (its room in the task set is given back)
        # and its ids leave _pending.
        stored = maybeDeferred(self.store.recall, ids).addCallback(store_new)

        def done(result):
            self._pending.difference_update(ids)
            return result
        return stored.addBoth(done)

    def _store_new(self, fresh: list[Event], held: set[bytes], origins: dict[bytes, bytes],
                   now: float) -> Deferred:
        self.counters["duplicates"] += len(held)
        # Each step over the whole batch before the next: signature checks one after another
        # find libsecp256k1's tables still in the CPU's cache, which other work in between
        # pushes out (a check costs 45 to 50 us among other work, 42 in a bare loop).
        candidates = []
        for event in fresh:
            if event.id in held:
                continue
            if event.id_matches():
                candidates.append(event)
            else:
                self._refuse(event, origins, "id", "does not match the event's NIP-01 serialisation")
        valid = signatures_valid([(e.pubkey, e.id, e.sig) for e in candidates])
        to_store = []
        for event, ok in zip(candidates, valid):
            if not ok:
                self._refuse(event, origins, "sig",
                             "is not a valid BIP-340 signature of the id by the pubkey")
            # After the signature: forged events must not use up a real author's budget.
            elif not self._author_events.allow(event.pubkey, now):
                self.counters["author_rate_limited"] += 1
            else:
                to_store.append(event)
        if not to_store:
            return succeed(0)
        return self.store.add_all(to_store).addCallback(self._count_stored, to_store)

    def _refuse(self, event: Event, origins: dict[bytes, bytes], field: str, why: str) -> None:
        self.counters["bad_signature"] += 1
        log.debug("dropped {event_id} from {origin}: {field} {why}", event_id=event.id_hex,
                  origin=origins[event.id].hex(), field=field, why=why)

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
