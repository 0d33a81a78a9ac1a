"""The node's work in progress (storing arrivals, answering, fetching, queueing), bounded.

Every job runs on its own: a failure is logged where it happened and never reaches the overlay
or the REST request that caused it. :meth:`TaskSet.settled` lets tests (and a caller that wants
a clean stop) wait until nothing is left running.
"""

from __future__ import annotations

from collections import Counter
from typing import Optional

from twisted.internet.defer import Deferred, DeferredList, FirstError, ensureDeferred
from twisted.python.failure import Failure
from txredisapi import ConnectionError as RedisConnectionError

from ..logging import Logger
from ..store.redis_store import StoreError

STORE_TROUBLE = (StoreError, RedisConnectionError)

log = Logger()


class TaskSet:
    def __init__(self, max_tasks: int, counters: Optional[Counter] = None):
        self._max_tasks = max_tasks
        self._running: set[Deferred] = set()  # what settled() waits for
        self._holding = 0  # those of them given by hold(), which take no room
        self._reserved = 0  # room taken by reserve() and not yet released
        self.counters = counters if counters is not None else Counter()

    def __len__(self) -> int:
        """Jobs counted against the bound: those running and the room reserved."""
        return len(self._running) - self._holding + self._reserved

    def reserve(self, what: str) -> bool:
        """Take room for one job done later in a batch (the intake's messages, stored together
        at the end of the reactor turn); False, counted and logged as :meth:`run` does, when
        there is none. The batch gives it back with :meth:`release`."""
        if not self._room(what):
            return False
        self._reserved += 1
        return True

    def _room(self, what: str) -> bool:
        """Whether one more job fits; if not, the drop is counted and logged."""
        if len(self) < self._max_tasks:
            return True
        self.counters["busy_dropped"] += 1
        log.debug("too much work in progress; dropped: {what}", what=what)
        return False

    def release(self, count: int) -> None:
        self._reserved -= count

    def hold(self, work: Deferred, what: str) -> None:
        """Wait for ``work`` in :meth:`settled`, its failure logged as a job's, without taking
        room: the batch whose result it is reserved its room message by message."""
        self._holding += 1

        def finished(result):
            self._running.discard(work)
            self._holding -= 1
            if isinstance(result, Failure):
                self._report(result, what)
            return None

        self._running.add(work)
        work.addBoth(finished)

    def run(self, work, what: str) -> Optional[Deferred]:
        """Run ``work`` (a coroutine, a Deferred, or a function of no arguments returning one of
        them, called only if there is room). None, and the coroutine is closed unrun, when
        MAX_TASKS_IN_FLIGHT jobs are running already. The Deferred fires with the job's
        result, or None when it failed (the failure is logged)."""
        if not self._room(what):
            if hasattr(work, "close"):
                work.close()
            return None
        if callable(work):
            work = work()
        task = ensureDeferred(work)

        def finished(result):
            self._running.discard(task)
            if isinstance(result, Failure):
                self._report(result, what)
                return None
            return result

        task.addBoth(finished)
        if not task.called:
            self._running.add(task)
        return task

    def _report(self, failure: Failure, what: str) -> None:
        while failure.check(FirstError):  # from gatherResults
            failure = failure.value.subFailure
        if failure.check(*STORE_TROUBLE):
            # The store is away (restarting, say): worth a warning, not a traceback; what was
            # lost comes again (resends, polls, the next share).
            self.counters["store_failed"] += 1
            log.warn("node job failed, the store did not answer: {what}: {why}", what=what,
                     why=repr(failure.value))
        else:
            log.failure("node job failed: {what}", failure, what=what)

    def settled(self) -> Deferred:
        """Fires once no job is running (jobs started by jobs included)."""
        return ensureDeferred(self._settled())

    async def _settled(self) -> None:
        while self._running:
            await DeferredList(list(self._running))
