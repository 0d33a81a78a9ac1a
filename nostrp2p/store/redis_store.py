"""IEventStore on Redis (through a txredisapi client opened with ``charset=None``).

Every write that touches more than one key is one Lua script (scripts.py), so it is atomic.
The client is binary-safe: it returns ``bytes`` for every bulk string, and numbers are not
converted (``convertNumbers=False``), so a packed event is never mistaken for an integer.
"""

from __future__ import annotations

import functools
from typing import Iterable, Optional

import msgpack
from twisted.internet.defer import Deferred, FirstError, gatherResults
from twisted.logger import Logger
from zope.interface import implementer

from ..nostr import Event, EventError, Filter
from ..nostr.codec import pack_event, unpack_event
from . import keys, limits, scripts
from .interface import IEventStore
from .resend import ResendItem
from .encoding import packed_form, stored_form
from .recent_ids import RecentIds
from .timeline import RecentWindow
from .upgrade import upgrade

log = Logger()

_TRIMMED_RECORD = keys.ORDER_KEY_BYTES + 32  # order key and author of each event removed

class StoreError(Exception):
    """A request the store refuses (bad argument), named precisely."""


def _deferred(method):
    """A public operation: a coroutine method that returns a Deferred."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        return Deferred.fromCoroutine(method(self, *args, **kwargs))
    return wrapper


@implementer(IEventStore)
class RedisEventStore:
    def __init__(self, redis, max_events: int = limits.MAX_EVENTS,
                 timeline: Optional[RecentWindow] = None, clock=None,
                 max_unprotected: int = limits.MAX_UNPROTECTED_REPLACEABLES):
        if max_events < 1:
            raise StoreError(f"max_events must be at least 1, not {max_events}")
        if clock is None:
            from twisted.internet import reactor as clock
        self.redis = redis
        self.clock = clock
        self._adds: list[Event] = []  # the events of the next write
        self._add_waiters: list[tuple[int, Deferred]] = []  # (how many of them, whose answer)
        self._adds_call = None  # the write scheduled for the end of this reactor turn
        self._reads: list[tuple] = []  # (ids, Deferred) for the next read
        self._read_ids: dict[bytes, None] = {}  # their ids, in order, once each
        self._reads_scheduled = False
        self.max_events = max_events
        self.max_unprotected = max_unprotected
        self.owner = b""  # nobody until protect_owner(): no pubkey is empty
        self.timeline = timeline if timeline is not None else RecentWindow()
        self.recent_ids = RecentIds()
        self.counters = {"added": 0, "duplicates": 0, "trimmed": 0, "corrupt": 0,
                         "timeline_hits": 0, "timeline_misses": 0}

    # -- events ------------------------------------------------------------------------------

    def add(self, event: Event) -> Deferred:
        return self.add_all([event]).addCallback(lambda results: results[0])

    def add_all(self, events: list[Event]) -> Deferred:
        """Add several events at once: fires with one bool per event, as :meth:`add` would."""
        pieces = []
        for start in range(0, len(events), limits.ADD_BATCH_MAX):
            chunk = events[start:start + limits.ADD_BATCH_MAX]
            if len(self._adds) + len(chunk) > limits.ADD_BATCH_MAX:
                self._write_adds()
            written = Deferred()
            self._adds.extend(chunk)
            self._add_waiters.append((len(chunk), written))
            pieces.append(written)
            if len(self._adds) >= limits.ADD_BATCH_MAX:
                self._write_adds()
            elif self._adds_call is None:
                # The other adds of this reactor turn (datagrams and replies come in bursts)
                # join these in a single script call.
                self._adds_call = self.clock.callLater(0, self._write_adds)
        if len(pieces) == 1:
            return pieces[0]
        return gatherResults(pieces, consumeErrors=True).addCallback(
            lambda results: [new for piece in results for new in piece])

    def _write_adds(self) -> None:
        # A full batch is written at once; the turn's scheduled write then has nothing left.
        if self._adds_call is not None and self._adds_call.active():
            self._adds_call.cancel()
        self._adds_call = None
        batch, self._adds = self._adds, []
        waiters, self._add_waiters = self._add_waiters, []
        if not batch:
            return
        blobs = [stored_form(pack_event(event)) for event in batch]
        records = b"".join([keys.add_record(event, blob) for event, blob in zip(batch, blobs)])
        authors = [keys.author_key(pubkey) for pubkey in dict.fromkeys(e.pubkey for e in batch)]
        written = self.redis.eval(
            scripts.ADD_EVENTS, keys=[keys.EVENTS, keys.TIME, keys.KEPT, keys.UNPROTECTED,
                                      keys.PROTECTED_FOLLOWS, keys.PROTECTED_TALKS,
                                      keys.CURRENT[0], keys.CURRENT[3], keys.USE_CLOCK, *authors],
            args=[self.max_events, limits.TRIM_BATCH, self.max_unprotected, self.owner, records])

        def done(reply):
            results = self._added(batch, blobs, reply)

            def answer(_=None):
                start = 0
                for count, waiter in waiters:
                    waiter.callback(results[start:start + count])
                    start += count

            spoke = [e for e, new in zip(batch, results) if new and e.pubkey == self.owner]
            if spoke:
                # Rare (the owner publishes): answered once the protection is in place, so
                # that what the owner's client does next finds it.
                self._owner_spoke(spoke).addBoth(answer)
            else:
                answer()

        def failed(failure):
            for _, waiter in waiters:
                waiter.errback(failure)

        written.addCallbacks(done, failed)

    def _added(self, batch: list[Event], blobs: list[bytes], reply: bytes) -> list[bool]:
        results = []
        for event, blob, status in zip(batch, blobs, reply[:len(batch)]):
            new = status == ord("1")
            results.append(new)
            if new:
                self.timeline.insert(event, len(blob))
                self.recent_ids.add(event.id)
        added = sum(results)
        self.counters["added"] += added
        self.counters["duplicates"] += len(batch) - added
        self._forget_trimmed(reply[len(batch):])
        return results

    def _forget_trimmed(self, trimmed: bytes) -> None:
        """Drop the removed events from memory and from their authors' indexes. The script could
        not (it touches only keys named in advance); sent before the adds are answered, so any
        later command sees the indexes clean. An entry left by a crash in between names an
        event that is gone, which reads skip."""
        by_author: dict[bytes, list[bytes]] = {}
        for start in range(0, len(trimmed), _TRIMMED_RECORD):
            okey = trimmed[start:start + keys.ORDER_KEY_BYTES]
            pubkey = trimmed[start + keys.ORDER_KEY_BYTES:start + _TRIMMED_RECORD]
            self.counters["trimmed"] += 1
            self.timeline.discard(keys.order_key_id(okey))
            by_author.setdefault(pubkey, []).append(okey)
        for pubkey, okeys in by_author.items():
            self.redis.zrem(keys.author_key(pubkey), *okeys).addErrback(lambda f: log.warn(
                "could not clean an author index: {why}", why=f.getErrorMessage()))

    # -- whom the owner protects -------------------------------------------------------------

    @_deferred
    async def protect_owner(self, owner: bytes) -> None:
        """From now on the owner's profile and follow list, and those of the authors the owner
        follows (the owner's current follow list) or talks with (names in p tags), are never
        evicted; everyone else's are capped (limits.MAX_UNPROTECTED_REPLACEABLES)."""
        self.owner = owner
        await self._protect_follows()

    @_deferred
    async def _owner_spoke(self, events: list[Event]) -> None:
        """The owner's new events: authors named are talked with, a follow list replaces the
        followed. A failure is logged: the events are stored all the same."""
        named = [pubkey for e in events if e.kind != 3 for pubkey in keys.named_pubkeys(e)]
        try:
            if named:
                await self._protect(b"talks", named[-limits.MAX_TALK_PARTNERS:])
            if any(e.kind == 3 for e in events):
                await self._protect_follows()
        except Exception as e:
            log.warn("could not update the protected authors: {why}", why=repr(e))

    async def _protect_follows(self) -> None:
        follows = await self._current(3, self.owner)
        named = [] if follows is None else keys.named_pubkeys(follows)
        await self._protect(b"follows", named[:limits.MAX_PROTECTED_FOLLOWS])

    def _protect(self, mode: bytes, pubkeys: list[bytes]) -> Deferred:
        return self.redis.eval(
            scripts.PROTECT, keys=[keys.PROTECTED_FOLLOWS, keys.PROTECTED_TALKS, keys.UNPROTECTED,
                                   keys.CURRENT[0], keys.CURRENT[3], keys.USE_CLOCK],
            args=[mode, repr(self.clock.seconds()), limits.MAX_TALK_PARTNERS, self.owner, *pubkeys])

    def recall(self, event_ids: Iterable[bytes]) -> tuple[set[bytes], list[bytes]]:
        """What memory knows of these ids, without asking Redis: (ids certainly held: they
        are in the window; ids perhaps held: the filter of recently added ids has them). The
        others were not added recently (add() still tells a copy of an old event)."""
        held, perhaps = set(), []
        window, recent = self.timeline, self.recent_ids
        for event_id in event_ids:
            if event_id in window:
                held.add(event_id)
            elif event_id in recent:
                perhaps.append(event_id)
        return held, perhaps

    @_deferred
    async def get(self, event_ids: Iterable[bytes]) -> list[Event]:
        return await self._get(event_ids)

    async def _get(self, event_ids: Iterable[bytes]) -> list[Event]:
        wanted = list(dict.fromkeys(event_ids))
        if len(wanted) > limits.MAX_GET_IDS:
            raise StoreError(f"{len(wanted)} ids asked for, over the limit of {limits.MAX_GET_IDS}")
        if not wanted:
            return []
        return self._decode_all(zip(wanted, await self._read_events(wanted)))

    def _read_events(self, event_ids: list[bytes]) -> Deferred:
        """The stored forms of ``event_ids`` (None where missing), in order. The reads of one
        reactor turn share one script call, as the adds do."""
        wanted = len(set(event_ids) | self._read_ids.keys())
        if self._reads and wanted > limits.MAX_GET_IDS:
            self._flush_reads()
        result = Deferred()
        self._reads.append((event_ids, result))
        self._read_ids.update(dict.fromkeys(event_ids))
        if not self._reads_scheduled:
            self._reads_scheduled = True
            self.clock.callLater(0, self._flush_reads)
        return result

    def _flush_reads(self) -> None:
        self._reads_scheduled = False
        reads, self._reads = self._reads, []
        ids, self._read_ids = list(self._read_ids), {}
        if not reads:
            return

        def answer(reply):
            blobs = dict(zip(ids, msgpack.unpackb(reply, raw=True)))
            for event_ids, waiter in reads:
                waiter.callback([blobs.get(i) for i in event_ids])

        def failed(failure):
            for _, waiter in reads:
                waiter.errback(failure)

        self.redis.eval(scripts.READ_EVENTS, keys=[keys.EVENTS], args=ids).addCallbacks(answer, failed)

    async def _read_page(self, index: bytes, start: bytes, end: bytes, count: int):
        """(order keys, [(id, stored form)]) of up to ``count`` index entries from ``start``.
        The time index is read together with the current replaceables, which it lacks."""
        index_keys = [index, keys.EVENTS] + ([keys.KEPT] if index == keys.TIME else [])
        reply = await self.redis.eval(scripts.READ_PAGE, keys=index_keys, args=[start, end, count])
        unpacker = msgpack.Unpacker(raw=True, max_buffer_size=len(reply) + 1)
        unpacker.feed(reply)
        page, blobs = list(unpacker)
        return page, [(keys.order_key_id(okey), blob) for okey, blob in zip(page, blobs)]

    def _decode_all(self, stored: Iterable[tuple[bytes, Optional[bytes]]]) -> list[Event]:
        """Events from (id, stored form) pairs; missing and corrupt ones are skipped."""
        found = []
        for event_id, blob in stored:
            if not blob:  # missing (None from HGET, false from a script)
                continue
            try:
                found.append(unpack_event(packed_form(event_id, blob)))
            except EventError as e:
                # Only a damaged data file could do this; skip the record, keep serving.
                self.counters["corrupt"] += 1
                log.error("skipped a corrupt stored event: {why}", why=str(e))
        return found

    @_deferred
    async def query(self, event_filter: Filter) -> list[Event]:
        limit = _answer_limit(event_filter)
        if limit <= 0:
            return []
        if event_filter.ids is not None:
            held = await self._get(list(event_filter.ids)[: limits.MAX_GET_IDS])
            return _newest_first(e for e in held if event_filter.matches(e))[:limit]
        if event_filter.authors is not None and len(event_filter.authors) <= limits.AUTHOR_INDEX_MAX:
            walks = [Deferred.fromCoroutine(self._scan(keys.author_key(author), event_filter, limit))
                     for author in event_filter.authors]
            try:
                results = await gatherResults(walks, consumeErrors=True)
            except FirstError as e:
                e.subFailure.raiseException()
            return _newest_first(event for found in results for event in found)[:limit]
        answer = self.timeline.answer(event_filter, limit)
        if answer is not None:
            self.counters["timeline_hits"] += 1
            return answer
        self.counters["timeline_misses"] += 1
        return await self._scan(keys.TIME, event_filter, limit)

    def answer_from_memory(self, event_filter: Filter) -> Optional[list[Event]]:
        """The answer from the in-memory window alone (no Redis call: it works while Redis is
        down), or None when the window cannot be sure it is complete."""
        limit = _answer_limit(event_filter)
        if limit <= 0:
            return []
        if event_filter.ids is not None:
            held = self.timeline.events(event_filter.ids)
            if len(held) < len(event_filter.ids):
                return None  # complete only if every id asked for is in the window
            return _newest_first(e for e in held if event_filter.matches(e))[:limit]
        return self.timeline.answer(event_filter, limit)

    async def _scan(self, index: bytes, event_filter: Filter, limit: int) -> list[Event]:
        """Walk one index newest first, in pages, until ``limit`` matches or the scan bound."""
        start = keys.newest_bound(event_filter.until)
        end = keys.oldest_bound(event_filter.since)
        found: list[Event] = []
        scanned = 0
        # The first page is as big as the answer may be (a plain "newest N" reads nothing
        # more); a selective filter then reads full pages.
        page_size = min(limits.QUERY_PAGE, max(limit, limits.QUERY_FIRST_PAGE_MIN))
        while scanned < limits.QUERY_MAX_SCANNED:
            page, blobs = await self._read_page(index, start, end, page_size)
            if not page:
                break
            scanned += len(page)
            for event in self._decode_all(blobs):
                if event_filter.matches(event):
                    found.append(event)
                    if len(found) >= limit:
                        return found
            if len(page) < page_size:
                break
            start = b"(" + page[-1]
            page_size = limits.QUERY_PAGE
        return found

    @_deferred
    async def current_profile(self, pubkey: bytes) -> Optional[Event]:
        return await self._current(0, pubkey)

    @_deferred
    async def current_follow_list(self, pubkey: bytes) -> Optional[Event]:
        return await self._current(3, pubkey)

    async def _current(self, kind: int, pubkey: bytes) -> Optional[Event]:
        okey = await self.redis.hget(keys.CURRENT[kind], pubkey)
        if okey is None:
            return None
        event_id = keys.order_key_id(okey)
        found = self._decode_all([(event_id, await self.redis.hget(keys.EVENTS, event_id))])
        return found[0] if found else None

    @_deferred
    async def count(self) -> int:
        return await self._count()

    async def _count(self) -> int:
        counts = await gatherResults([self.redis.execute_command("ZCARD", index)
                                      for index in (keys.TIME, keys.KEPT)])
        return sum(int(n) for n in counts)

    @_deferred
    async def warm(self) -> int:
        """Fill the in-memory window with the newest events Redis holds (called at start)."""
        await upgrade(self.redis)
        _, stored = await self._read_page(keys.TIME, b"-", b"+", self.timeline.max_events)
        events = []
        for pair in stored:
            for event in self._decode_all([pair]):
                events.append((event, len(pair[1])))
        total = await self._count()
        self.timeline.fill(events, complete=total <= len(events))
        for event, _ in events:
            self.recent_ids.add(event.id)
        return len(events)

    # -- "last refreshed" stamps -------------------------------------------------------------

    @_deferred
    async def last_refreshed(self, pubkey: bytes, what: str) -> Optional[float]:
        value = await self.redis.hget(_refreshed_key(what), pubkey)
        return None if value is None else float(value)

    @_deferred
    async def mark_refreshed(self, pubkey: bytes, what: str, when: float) -> None:
        await self.redis.eval(scripts.MARK_REFRESHED, keys=[_refreshed_key(what)],
                              args=[pubkey, repr(float(when)), limits.MAX_REFRESH_STAMPS])

    # -- the resend queue --------------------------------------------------------------------

    @_deferred
    async def enqueue_resend(self, destination: bytes, payload: bytes, due: float) -> bytes:
        if len(payload) > limits.MAX_RESEND_PAYLOAD_BYTES:
            raise StoreError(f"resend payload of {len(payload)} bytes, over the limit of "
                             f"{limits.MAX_RESEND_PAYLOAD_BYTES}")
        item = _pack_item(destination, payload, 0, due)
        return await self.redis.eval(
            scripts.ENQUEUE_RESEND, keys=[keys.RESEND_ITEMS, keys.RESEND_DUE, keys.RESEND_SEQ],
            args=[item, repr(float(due)), limits.MAX_RESEND_ITEMS])

    @_deferred
    async def resend_count(self) -> int:
        return int(await self.redis.execute_command("ZCARD", keys.RESEND_DUE))

    @_deferred
    async def due_resends(self, now: float, limit: int) -> list[ResendItem]:
        limit = max(0, min(limit, limits.MAX_RESEND_ITEMS))
        if limit == 0:
            return []
        ids = await self.redis.execute_command(
            "ZRANGEBYSCORE", keys.RESEND_DUE, "-inf", repr(float(now)), "LIMIT", 0, limit)
        if not ids:
            return []
        blobs = await self.redis.hmget(keys.RESEND_ITEMS, ids)
        items = []
        for item_id, blob in zip(ids, blobs):
            if blob is None:
                continue
            item = _unpack_item(item_id, blob)
            if item is None:
                self.counters["corrupt"] += 1
                await self._remove(item_id)
            else:
                items.append(item)
        return items

    @_deferred
    async def reschedule_resend(self, item_id: bytes, due: float) -> None:
        blob = await self.redis.hget(keys.RESEND_ITEMS, item_id)
        item = None if blob is None else _unpack_item(item_id, blob)
        if item is None:
            return
        attempts = item.attempts + 1
        if attempts >= limits.MAX_RESEND_ATTEMPTS:
            await self._remove(item_id)
            return
        await self.redis.eval(
            scripts.RESCHEDULE_RESEND, keys=[keys.RESEND_ITEMS, keys.RESEND_DUE],
            args=[item_id, _pack_item(item.destination, item.payload, attempts, due), repr(float(due))])

    @_deferred
    async def remove_resend(self, item_id: bytes) -> None:
        await self._remove(item_id)

    async def _remove(self, item_id: bytes) -> None:
        await self.redis.eval(scripts.REMOVE_RESEND, keys=[keys.RESEND_ITEMS, keys.RESEND_DUE],
                              args=[item_id])


def _answer_limit(event_filter: Filter) -> int:
    """Events a query answers at most: the filter's limit within the store's answer cap."""
    if event_filter.limit is None:
        return limits.MAX_ANSWER_EVENTS
    return min(limits.MAX_ANSWER_EVENTS, event_filter.limit)


def _newest_first(events: Iterable[Event]) -> list[Event]:
    unique = {e.id: e for e in events}
    return sorted(unique.values(), key=lambda e: (-e.created_at, e.id))


def _refreshed_key(what: str) -> bytes:
    try:
        return keys.REFRESHED[what]
    except KeyError:
        raise StoreError(f'"what" must be "profile" or "follows", not {what!r}') from None


def _pack_item(destination: bytes, payload: bytes, attempts: int, due: float) -> bytes:
    return msgpack.packb([destination, payload, attempts, float(due)], use_bin_type=True)


def _unpack_item(item_id: bytes, blob: bytes) -> Optional[ResendItem]:
    try:
        destination, payload, attempts, due = msgpack.unpackb(blob, raw=False)
        return ResendItem(item_id, bytes(destination), bytes(payload), int(attempts), float(due))
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return None
