"""A deadline on a store call: while Redis is down, restarting or stopped, a client hears 503
within STORE_DEADLINE_SECONDS instead of waiting."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from . import limits
from .errors import ApiError


def within(work: Deferred, clock, late: str, cancel: bool = False) -> Deferred:
    """A Deferred with ``work``'s result, or failing with ApiError 503 (reason ``late``) after
    STORE_DEADLINE_SECONDS. Unless ``cancel``, neither the deadline nor cancelling the answer
    (the client hung up) stops ``work``, and several may wait for the same ``work``."""
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
        # A failure went to ``answer`` (or came too late for anyone): handled. A result stays
        # for the others waiting for the same work.
        return None if isinstance(result, Failure) else result

    timer = clock.callLater(limits.STORE_DEADLINE_SECONDS, expire)
    work.addBoth(settle)
    return answer
