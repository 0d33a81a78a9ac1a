"""Fetching what the owner's client asked for and this server lacks: a post by id, a profile or
a follow list, from its author's server. The client's next poll (10 s later) finds it.

A held profile or follow list older than a day is refreshed too, at most once an hour per
author (the stamp is kept in the store, so a restart does not reset it). Something missing is
asked for at most once per FETCH_RETRY_SECONDS however often the client polls.

A read asks at most MAX_FETCHES_PER_WANTED fetches. A read from a client address other than
the owner's also draws on that address's budget and on one budget all such addresses share
(limits.py), so no address can use up the fetches of the owner or of other addresses.
"""

from __future__ import annotations

from collections import Counter
from typing import Optional

from ..bounded import RecentTable
from ..logging import Logger
from ..nostr import Event, Filter
from . import limits
from .delivery import FOLLOWS, POST, PROFILE
from .intake import Intake
from .messages import EventsMessage, MessageError, Request, decode, encode_request
from .overlay import UnicastFailed
from .ratelimit import RateLimiter
from .tasks import TaskSet

log = Logger()

_REPLACEABLE = ((PROFILE, "profile"), (FOLLOWS, "follows"))


async def ask(overlay, owner: bytes, request: Request) -> EventsMessage:
    """The events the server of ``owner`` answers ``request`` with; UnicastFailed or
    MessageError."""
    reply = decode(await overlay.request(owner, encode_request(request)))
    if not isinstance(reply, EventsMessage):
        raise MessageError("a request was answered with a request")
    return reply


class Fetcher:
    def __init__(self, store, overlay, owner: bytes, clock, counters: Counter, tasks: TaskSet,
                 intake: Intake, refresh_after_seconds: float, refresh_every_seconds: float,
                 retry_seconds: float):
        self.store = store
        self.overlay = overlay
        self.owner = owner
        self.clock = clock
        self.counters = counters
        self.tasks = tasks
        self.intake = intake
        self.refresh_after_seconds = refresh_after_seconds
        self.refresh_every_seconds = refresh_every_seconds
        self.retry_seconds = retry_seconds
        self._recent = RecentTable(limits.RECENT_FETCHES_MAX)  # (author, what, argument) -> asked
        self._per_client = RateLimiter(limits.FETCHES_PER_CLIENT, limits.FETCH_BUDGET_SECONDS,
                                       limits.MAX_FETCH_CLIENTS)
        self._strangers = RateLimiter(limits.FETCHES_BY_STRANGERS, limits.FETCH_BUDGET_SECONDS, 1)

    async def fetch_wanted(self, event_filter: Filter, held: list[Event],
                           client: Optional[str] = None) -> None:
        """``client``: the address of the client that read, None for the owner's client."""
        budget = limits.MAX_FETCHES_PER_WANTED
        authors = sorted(a for a in (event_filter.authors or ()) if a != self.owner)
        kinds = event_filter.kinds
        if event_filter.ids and authors and (kinds is None or POST in kinds):
            held_ids = {e.id for e in held}
            for event_id in sorted(event_filter.ids - held_ids):
                for author in authors:
                    if budget and self._ask(author, Request("post", event_id), (event_id, None),
                                            client):
                        budget -= 1
        if event_filter.ids is not None or kinds is None:
            return
        newest: dict[tuple[bytes, int], int] = {}
        for e in held:
            newest[e.pubkey, e.kind] = max(e.created_at, newest.get((e.pubkey, e.kind), 0))
        for kind, what in _REPLACEABLE:
            if kind not in kinds:
                continue
            for author in authors:
                if budget and await self._needs(author, what, newest.get((author, kind))):
                    if self._ask(author, Request(what), (None, kind), client):
                        budget -= 1

    async def _needs(self, author: bytes, what: str, held_created_at: Optional[int]) -> bool:
        now = self.clock.seconds()
        if held_created_at is None:
            return True
        if now - held_created_at < self.refresh_after_seconds:
            return False
        last = await self.store.last_refreshed(author, what)
        return last is None or now - last >= self.refresh_every_seconds

    def _ask(self, author: bytes, request: Request, want: tuple, client: Optional[str]) -> bool:
        """Send ``request`` unless it went out less than retry_seconds ago or the client is
        over its budget; whether it was sent."""
        now = self.clock.seconds()
        key = (author, request.what, request.argument)
        last = self._recent.lookup(key)
        if last is not None and now - last < self.retry_seconds:
            return False
        if client is not None and not (self._per_client.allow(client, now)
                                       and self._strangers.allow(None, now)):
            self.counters["fetch_over_client_budget"] += 1
            return False
        self._recent.keep(key, now)
        self.counters["fetch_sent"] += 1
        self.tasks.run(self._request(author, request, *want), f"fetch {request.what}")
        return True

    async def _request(self, author: bytes, request: Request, event_id: Optional[bytes],
                       kind: Optional[int]) -> None:
        if kind is not None:
            # Stamped when asked, answered or not: an unreachable author is not asked every poll.
            await self.store.mark_refreshed(author, request.what, self.clock.seconds())
        try:
            reply = await ask(self.overlay, author, request)
        except (UnicastFailed, MessageError) as e:
            self.counters["fetch_failed"] += 1
            log.debug("fetching {what} from {author} failed: {why}", what=request.what,
                      author=author.hex(), why=str(e))
            return
        # Only what was asked for: the author's own profile, or the one post.
        wanted = [e for e in reply.events
                  if (event_id is not None and e.id == event_id)
                  or (kind is not None and e.pubkey == author and e.kind == kind)]
        await self.intake.accept(wanted, author, admitted=False)
