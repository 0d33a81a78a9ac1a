"""The API's calls to the store, each with a deadline, and the delivery of what is published.

While Redis is down, restarting or stopped, a client hears 503 within STORE_DEADLINE_SECONDS
instead of waiting: a publish is refused (never acknowledged before Redis acknowledged it), a
read is answered from the in-memory window when that is complete, else refused.

A write the deadline gave up on goes on. If it completes, its event is delivered then, exactly
once however the client retries: a retry of an event whose write is still going waits for that
write (no second add), and a retry the store answers "not new" delivers the event if the
earlier write failed without telling whether Redis applied it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Optional

from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.python.failure import Failure

from ..logging import Logger
from ..nostr import Event, Filter
from . import limits, reads
from .errors import ApiError

log = Logger()


class StoreCalls:
    """Publishing (store, then deliver) and reading, for every interface that takes events
    from the owner's client."""

    def __init__(self, store, node, clock=None):
        if clock is None:
            from twisted.internet import reactor as clock
        self.store = store
        self.node = node
        self.clock = clock
        self._writing: dict[bytes, Deferred] = {}  # event id -> its write, while it runs
        self._unsettled: OrderedDict[bytes, None] = OrderedDict()  # writes that failed unseen

    async def publish(self, event: Event) -> None:
        """Returns once the event is stored (new or not); ApiError 503 if the store failed or
        did not answer in time."""
        write = self._writing.get(event.id)
        if write is None:
            if len(self._writing) >= limits.MAX_WRITES_WAITING:
                raise ApiError(503, "store", "too many events wait for the store; try again later")
            write = self._writing[event.id] = ensureDeferred(self._store_and_deliver(event))
            write.addBoth(self._written, event.id)
        outcome = await self._within(write, "the store did not take the event in time; "
                                            "try again later")
        if outcome is not None:
            raise outcome

    def _written(self, outcome, event_id: bytes):
        del self._writing[event_id]
        return outcome

    async def _store_and_deliver(self, event: Event) -> Optional[ApiError]:
        """None once stored (and delivered if new), or the ApiError to answer. Never fails,
        and is never cancelled: the client's hanging up or the deadline leave it running."""
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
            return ApiError(503, "store", f"the event could not be stored: {type(e).__name__}")
        unsettled = self._unsettled.pop(event.id, False) is None
        if new or unsettled:
            try:
                self.node.published(event)
            except Exception:
                # Stored is what the client was promised; delivery problems are the node's.
                log.failure("the node layer failed on published {event_id}", event_id=event.id_hex)
        return None

    async def read(self, event_filter: Filter) -> list:
        """The held events matching the filter; from memory if the store fails or is late."""
        try:
            return await self._within(ensureDeferred(reads.answer(self.store, event_filter)),
                                      "the store did not answer in time", cancel=True)
        except CancelledError:
            raise  # the client hung up
        except Exception as e:
            from_memory = self.store.answer_from_memory(reads.capped(event_filter))
            if from_memory is not None:
                return from_memory
            if isinstance(e, ApiError):
                raise
            log.warn("the store could not answer a /req: {error}", error=repr(e))
            raise ApiError(503, "store", f"the store could not answer: {type(e).__name__}")

    def _within(self, work: Deferred, late: str, cancel: bool = False) -> Deferred:
        """A Deferred with ``work``'s result, or failing with a 503 (``late``) after
        STORE_DEADLINE_SECONDS. Unless ``cancel``, neither the deadline nor cancelling the
        answer (the client hung up) stops ``work``."""
        def given_up(_answer):
            if timer.active():
                timer.cancel()
            if cancel:
                work.cancel()

        answer = Deferred(given_up)

        def expire():
            answer.errback(ApiError(503, "store", late))
            if cancel:
                work.cancel()

        def settle(result):
            if not answer.called:
                timer.cancel()
                if isinstance(result, Failure):
                    answer.errback(result)
                else:
                    answer.callback(result)
            # A failure went to ``answer`` (or came too late for anyone): handled. A result
            # stays for the other waiters of a shared write.
            return None if isinstance(result, Failure) else result

        timer = self.clock.callLater(limits.STORE_DEADLINE_SECONDS, expire)
        work.addBoth(settle)
        return answer
