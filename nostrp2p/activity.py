"""What a person reading the log at info level learns while the server runs: that it joined the
overlay, how its neighbours come and go (once a minute at most), a warning naming the
bootstrap servers when it has had no neighbour for a minute, and every few minutes what it
delivered, stored and failed to do. Everything finer is at debug level (--debug)."""

from __future__ import annotations

from collections import Counter
from typing import Callable, Iterable, Mapping, Optional

from twisted.internet.task import LoopingCall

from .logging import Logger

log = Logger()

NEIGHBOUR_REPORT_SECONDS = 60.0
"""Neighbours gained and lost are told at most this often."""

ALONE_WARNING_SECONDS = 60.0
"""A server with no neighbour for this long says so, naming its bootstrap servers..."""

ALONE_REPEAT_SECONDS = 600.0
"""...and says it again this often while it stays alone."""

SUMMARY_SECONDS = 300.0
"""How often what happened is summarised (only when something did)."""

SUMMARISED = (
    ("stored", "{} events stored from other servers"),
    ("unicast_delivered", "{} mentions, replies or reactions delivered"),
    ("resend_delivered", "{} delivered on a retry"),
    ("resend_queued", "{} queued to retry"),
    ("resend_dropped", "{} given up after the last retry"),
    ("share_asked", "{} catch-up requests to the neighbours"),
    ("fetch_sent", "{} fetches for the client"),
    ("fetch_failed", "{} fetches failed"),
    ("bad_signature", "{} events with bad signatures refused"),
    ("not_addressed_here", "{} events for other servers refused"),
    ("peer_rate_limited", "{} events over a peer's rate limit"),
    ("store_failed", "{} store failures"),
)
"""The node's counters a summary tells, in this order, and how."""


class NeighbourLog:
    """Told the current neighbours at each connectivity check (:meth:`observe`)."""

    def __init__(self, clock, bootstrap: Iterable[str] = ()):
        self.clock = clock
        self.bootstrap = tuple(bootstrap)
        self._known: set[bytes] = set()  # at most the overlay's neighbour bound
        self._gained = self._lost = 0
        self._last_report = clock.seconds()
        self._alone_since: Optional[float] = clock.seconds()
        self._alone_warned: Optional[float] = None

    def observe(self, overlay_keys: Iterable[bytes]) -> None:
        now = self.clock.seconds()
        current = set(overlay_keys)
        gained, lost = current - self._known, self._known - current
        if current and not self._known:
            log.info("joined the overlay: {neighbours}", neighbours=_neighbours(len(current)))
        elif self._known and not current:
            rejoin = "; rejoining through " + ", ".join(self.bootstrap) if self.bootstrap else ""
            log.warn("lost every neighbour{rejoin}", rejoin=rejoin)
        else:
            self._gained += len(gained)
            self._lost += len(lost)
        self._known = current
        self._alone(now, bool(current))
        if (self._gained or self._lost) and now - self._last_report >= NEIGHBOUR_REPORT_SECONDS:
            log.info("{neighbours} ({gained} gained, {lost} lost in the last {minutes} min)",
                     neighbours=_neighbours(len(current)), gained=self._gained, lost=self._lost,
                     minutes=round((now - self._last_report) / 60))
            self._gained = self._lost = 0
            self._last_report = now

    def _alone(self, now: float, connected: bool) -> None:
        # Without --bootstrap (a bootstrap server itself) being alone is normal until others
        # join; the admin service says at start that such a server joins nobody.
        if connected or not self.bootstrap:
            self._alone_since = self._alone_warned = None
            return
        if self._alone_since is None:
            self._alone_since = now
        alone = now - self._alone_since
        if alone < ALONE_WARNING_SECONDS:
            return
        if self._alone_warned is not None and now - self._alone_warned < ALONE_REPEAT_SECONDS:
            return
        self._alone_warned = now
        log.warn("no neighbour for {seconds} s: the bootstrap servers {bootstrap} do not answer "
                 "(down, wrong address, a firewall, or another --network-password?)",
                 seconds=round(alone), bootstrap=", ".join(self.bootstrap))


def _neighbours(count: int) -> str:
    return f"{count} neighbour" if count == 1 else f"{count} neighbours"


class Periodic:
    """Calls ``work`` every ``seconds`` between :meth:`start` and :meth:`stop` (first at once
    when ``now``); a failure of ``work`` is logged, naming ``what``, and ends it."""

    def __init__(self, clock, seconds: float, work: Callable[[], None], what: str,
                 now: bool = False):
        self.seconds = seconds
        self.what = what
        self.now = now
        self._loop = LoopingCall(work)
        self._loop.clock = clock

    def start(self) -> None:
        self._loop.start(self.seconds, now=self.now).addErrback(
            lambda f: log.failure("{what} stopped", f, what=self.what))

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()


class ActivitySummary(Periodic):
    """Every SUMMARY_SECONDS, one info line of what the counters say happened since the last."""

    def __init__(self, clock, counters: Callable[[], Mapping[str, int]]):
        super().__init__(clock, SUMMARY_SECONDS, self.summarise, "the activity summary")
        self.counters = counters
        self._last: Counter = Counter(counters())

    def summarise(self) -> None:
        now = Counter(self.counters())
        parts = [text.format(now[name] - self._last[name]) for name, text in SUMMARISED
                 if now[name] > self._last[name]]
        self._last = now
        if parts:
            log.info("in the last {minutes} min: {what}", minutes=round(SUMMARY_SECONDS / 60),
                     what="; ".join(parts))
