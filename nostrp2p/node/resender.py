"""Unicasts that must arrive (replies, mentions, reactions): sent now, or kept in the store's
resend queue and retried at base x 2^n (n = 1..attempts) after each failure, then dropped.

The queue lives in the store, so a restarted server picks up where it left off: the first look
at the queue happens at start.
"""

from __future__ import annotations

from collections import Counter, deque

from twisted.internet.defer import Deferred, ensureDeferred, gatherResults, succeed
from twisted.internet.task import LoopingCall

from ..logging import Logger
from . import limits
from .backoff import next_retry_delay
from .overlay import UnicastFailed
from .tasks import TaskSet

log = Logger()


class Resender:
    def __init__(self, store, overlay, clock, counters: Counter, tasks: TaskSet,
                 base_seconds: float, attempts: int, check_seconds: float):
        self.store = store
        self.overlay = overlay
        self.clock = clock
        self.counters = counters
        self.tasks = tasks
        self.base_seconds = base_seconds
        self.attempts = attempts
        self.check_seconds = check_seconds
        self._loop = LoopingCall(self._look)
        self._loop.clock = clock
        # (when, destination, why) of the last failed deliveries, newest last: for status.
        self.failures: deque = deque(maxlen=limits.RECENT_FAILURES_KEPT)

    def start(self) -> None:
        self._loop.start(self.check_seconds, now=True)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()

    def send(self, target: bytes, payload: bytes) -> None:
        """Deliver now, or queue for the first retry."""
        self.tasks.run(self._send(target, payload), "unicast")

    async def _send(self, target: bytes, payload: bytes) -> None:
        try:
            await self.overlay.send(target, payload)
            self.counters["unicast_delivered"] += 1
            return
        except UnicastFailed as e:
            why = str(e)
            self.failures.append((self.clock.seconds(), target, why))
        delay = next_retry_delay(0, self.base_seconds, self.attempts)
        if delay is None:  # a setting of zero attempts: no queue at all
            self.counters["resend_dropped"] += 1
            return
        await self.store.enqueue_resend(target, payload, self.clock.seconds() + delay)
        self.counters["resend_queued"] += 1
        log.info("{target} unreachable ({why}); queued, first retry in {delay} s",
                 target=target.hex(), why=why, delay=delay)

    def _look(self) -> Deferred:
        # Tracked, and never failing: a store outage must not stop the loop for good.
        look = self.tasks.run(self._retry_due(), "resend pass")
        return look if look is not None else succeed(None)

    async def _retry_due(self) -> None:
        now = self.clock.seconds()
        by_destination: dict[bytes, list] = {}
        for item in await self.store.due_resends(now, limits.RESEND_BATCH):
            by_destination.setdefault(item.destination, []).append(item)
        # Destinations side by side: one that times out must not hold up the others.
        await gatherResults([ensureDeferred(self._retry(items, now))
                             for items in by_destination.values()], consumeErrors=True)

    async def _retry(self, items: list, now: float) -> None:
        """One destination's due items, in order; after one failure the rest of them count as
        failed too (the server is not there), without sending."""
        reachable = True
        for item in items:
            if reachable:
                try:
                    await self.overlay.send(item.destination, item.payload)
                except UnicastFailed as e:
                    reachable = False
                    self.failures.append((now, item.destination, str(e)))
                    log.debug("retry {n} to {target} failed: {why}", n=item.attempts + 1,
                              target=item.destination.hex(), why=str(e))
                else:
                    self.counters["resend_delivered"] += 1
                    log.debug("retry {n} to {target} delivered", n=item.attempts + 1,
                              target=item.destination.hex())
                    await self.store.remove_resend(item.item_id)
                    continue
            delay = next_retry_delay(item.attempts + 1, self.base_seconds, self.attempts)
            if delay is None:
                self.counters["resend_dropped"] += 1
                log.warn("gave up delivering to {target} after {n} retries",
                         target=item.destination.hex(), n=item.attempts + 1)
                await self.store.remove_resend(item.item_id)
            else:
                await self.store.reschedule_resend(item.item_id, now + delay)
