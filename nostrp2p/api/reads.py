"""Answering a /req filter from the store."""

from __future__ import annotations

import dataclasses

from twisted.internet.defer import CancelledError, ensureDeferred, gatherResults

from ..logging import Logger
from ..nostr import Event, Filter
from . import limits
from .deadline import within
from .errors import ApiError

log = Logger()

PROFILE_KIND = 0
FOLLOW_LIST_KIND = 3


def capped(event_filter: Filter) -> Filter:
    """The filter with ``limit`` bounded by the answer cap (no limit: the cap, so a timeline
    with no period is the newest MAX_ANSWER_EVENTS)."""
    limit = event_filter.limit
    if limit is None or limit > limits.MAX_ANSWER_EVENTS:
        limit = limits.MAX_ANSWER_EVENTS
    return dataclasses.replace(event_filter, limit=limit)


def _replaceable_only(event_filter: Filter) -> bool:
    """Profile / follow-list reads: NIP-01 says only the current one of each author counts."""
    kinds = event_filter.kinds
    return (
        kinds is not None and bool(kinds) and kinds <= {PROFILE_KIND, FOLLOW_LIST_KIND}
        and event_filter.authors is not None and event_filter.ids is None
        and len(kinds) * len(event_filter.authors) <= limits.MAX_CURRENT_LOOKUPS
    )


async def answer(store, event_filter: Filter) -> list[Event]:
    """The held events matching the filter, newest first, at most the capped limit."""
    event_filter = capped(event_filter)
    if event_filter.limit == 0:
        return []
    if not _replaceable_only(event_filter):
        return await store.query(event_filter)
    lookups = []
    for author in sorted(event_filter.authors):
        if PROFILE_KIND in event_filter.kinds:
            lookups.append(store.current_profile(author))
        if FOLLOW_LIST_KIND in event_filter.kinds:
            lookups.append(store.current_follow_list(author))
    found = await gatherResults(lookups, consumeErrors=True)
    events = [e for e in found if e is not None and event_filter.matches(e)]
    events.sort(key=lambda e: (-e.created_at, e.id))
    return events[: event_filter.limit]


async def answer_in_time(store, event_filter: Filter, clock) -> list[Event]:
    """:func:`answer`, or if the store fails or is late (deadline.py), the answer from the
    in-memory window when that is complete, else ApiError 503."""
    try:
        return await within(ensureDeferred(answer(store, event_filter)), clock,
                            "the store did not answer in time", cancel=True)
    except CancelledError:
        raise  # the client hung up
    except Exception as e:
        from_memory = store.answer_from_memory(capped(event_filter))
        if from_memory is not None:
            return from_memory
        if isinstance(e, ApiError):
            raise
        log.warn("the store could not answer a /req: {error}", error=repr(e))
        raise ApiError(503, "store", f"the store could not answer: {type(e).__name__}") from None


def asks_for_specific(event_filter: Filter) -> bool:
    """Whether the node layer should hear of this read (it fetches missing or stale posts,
    profiles and follow lists from their authors' servers); timeline reads are local."""
    return event_filter.ids is not None or event_filter.authors is not None
