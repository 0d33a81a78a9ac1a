"""Which followed authors' servers send their posts down a channel: only their channels are worth
joining for a server in broadcast mode.

A server in broadcast mode gets the posts of authors in broadcast mode by broadcast, so keeping
up their trees (a heartbeat to each parent every few seconds) would be paid for nothing. It asks
each followed author's server its mode (a "mode" request) when the author is first followed and
again every MODE_PROBE_SECONDS, and keeps joined exactly the channels of authors in followers
mode. A server of an earlier version, which broadcasts, answers with an empty EVENTS message;
one that cannot be reached is asked again MODE_PROBE_SECONDS later, as every other. So a migration loses nothing: an
author who switches to followers mode is found within MODE_PROBE_SECONDS, and joining its
channel brings its recent posts (docs/SCALING.md, "Modes").
"""

from __future__ import annotations

from collections import deque
from typing import Callable

from ..logging import Logger
from . import limits
from .messages import MessageError, ModeMessage, Request, decode, encode_request
from .overlay import UnicastFailed

log = Logger()


class ModeProbe:
    def __init__(self, overlay, clock, tasks, counters, on_mode: Callable[[bytes, bool], None]):
        """``on_mode(author, uses_channel)`` is called with every answer."""
        self.overlay = overlay
        self.clock = clock
        self.tasks = tasks
        self.counters = counters
        self.on_mode = on_mode
        self.due: dict[bytes, float] = {}  # followed author -> when its server is asked next
        # To be asked as soon as fewer than MODE_PROBES_IN_FLIGHT are: each at most once here.
        self._waiting: deque[bytes] = deque()
        self._queued: set[bytes] = set()
        self._asking: set[bytes] = set()
        self._round = None

    def track(self, author: bytes) -> None:
        """``author`` is followed now: its server is asked as soon as there is room (a long
        follow list read at start is asked MODE_PROBES_IN_FLIGHT at a time)."""
        self.due[author] = self.clock.seconds()
        self._queue(author)
        self._pump()

    def forget(self, author: bytes) -> None:
        self.due.pop(author, None)

    def start(self) -> None:
        self._round = self.clock.callLater(limits.MODE_PROBE_CHECK_SECONDS, self._check)

    def stop(self) -> None:
        if self._round is not None and self._round.active():
            self._round.cancel()
        self._round = None

    def _check(self) -> None:
        now = self.clock.seconds()
        # A bounded number per round, the longest due first: the follow list's hourly
        # questions are spread over the hour, never all at once.
        due = sorted((when, author) for author, when in self.due.items() if when <= now)
        for _, author in due[:limits.MODE_PROBES_PER_CHECK]:
            self._queue(author)
        self._pump()
        self._round = self.clock.callLater(limits.MODE_PROBE_CHECK_SECONDS, self._check)

    def _queue(self, author: bytes) -> None:
        if author not in self._queued and author not in self._asking:
            self._queued.add(author)
            self._waiting.append(author)

    def _pump(self) -> None:
        while self._waiting and len(self._asking) < limits.MODE_PROBES_IN_FLIGHT:
            author = self._waiting.popleft()
            self._queued.discard(author)
            if author in self.due:  # not unfollowed meanwhile
                self._ask(author)

    def _ask(self, author: bytes) -> None:
        self._asking.add(author)
        self.due[author] = self.clock.seconds() + limits.MODE_PROBE_SECONDS
        if self.tasks.run(self._ask_now(author), "mode request") is None:
            self._asking.discard(author)  # no room now: asked again at a later round

    async def _ask_now(self, author: bytes) -> None:
        try:
            reply = decode(await self.overlay.request(author, encode_request(Request("mode"))))
        except (UnicastFailed, MessageError) as e:
            self.counters["mode_probe_failed"] += 1
            log.debug("asking {author}'s server its delivery mode failed: {why}",
                      author=author.hex(), why=str(e))
            return
        finally:
            self._asking.discard(author)
            self._pump()
        if author not in self.due:
            return  # unfollowed meanwhile
        self.counters["mode_probed"] += 1
        # Anything but MODE is a server of an earlier version, which broadcasts.
        self.on_mode(author, isinstance(reply, ModeMessage) and reply.mode == "followers")
