"""StoreService: the store as a Twisted service (embedded redis-server or a Redis URL)."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

import txredisapi
from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from . import limits
from .embedded import EmbeddedRedis, StoreStartError
from .redis_store import RedisEventStore
from .timeline import RecentWindow

log = Logger()


class StoreConfigError(StoreStartError):
    """A Redis URL or store setting that cannot work."""


def parse_redis_url(url: str) -> tuple[str, object]:
    """``("tcp", (host, port, db))`` for ``redis://host:port/db``, ``("unix", path)`` for
    ``unix:/path/to/sock``; StoreConfigError otherwise."""
    if url.startswith("unix:"):
        path = url[len("unix:"):]
        if path.startswith("//"):
            path = path[2:]
        if not path.startswith("/"):
            raise StoreConfigError(f"Redis URL {url!r}: a unix socket needs an absolute path")
        return "unix", path
    parts = urlsplit(url)
    if parts.scheme != "redis" or not parts.hostname:
        raise StoreConfigError(f"Redis URL {url!r}: use redis://host:port/db or unix:/path")
    try:
        port = parts.port or 6379
        db = int(parts.path.strip("/") or 0)
    except ValueError:
        raise StoreConfigError(f"Redis URL {url!r}: port and db must be numbers") from None
    return "tcp", (parts.hostname, port, db)


class StoreService(Service):
    """Start: run (or reach) Redis, wait until it answers, warm the in-memory window.
    Stop: close the client, then stop the embedded server cleanly.

    ``when_ready()`` fires with the :class:`IEventStore` (also ``self.store`` once started).
    ``fsync`` is the embedded server's AOF policy: "everysec" (default), "always", or None for
    no persistence at all (tests that are not about durability).
    """

    name = "store"

    def __init__(self, data_dir: str, redis_url: Optional[str] = None,
                 max_events: int = limits.MAX_EVENTS, reactor=None,
                 fsync: Optional[str] = "everysec",
                 timeline_events: int = limits.TIMELINE_MAX_EVENTS,
                 timeline_bytes: int = limits.TIMELINE_MAX_BYTES):
        if reactor is None:
            from twisted.internet import reactor
        if max_events < 1:
            raise StoreConfigError(f"max_events must be at least 1, not {max_events}")
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.max_events = max_events
        self.reactor = reactor
        self.fsync = fsync
        self.timeline_events = timeline_events
        self.timeline_bytes = timeline_bytes
        self.target = parse_redis_url(redis_url) if redis_url else None
        self.embedded: Optional[EmbeddedRedis] = None
        self.client = None
        self.store: Optional[RedisEventStore] = None
        self._ready: Optional[Deferred] = None
        self._waiters: list[Deferred] = []
        self._outcome = None  # the store, or the Failure of the start

    def startService(self) -> None:
        Service.startService(self)
        self._ready = Deferred.fromCoroutine(self._start())
        self._ready.addBoth(self._started)

    def _started(self, result):
        self._outcome = result
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if isinstance(result, Failure):
                waiter.errback(result)
            else:
                waiter.callback(result)
        if isinstance(result, Failure) and not waiters:
            if result.check(StoreStartError):
                log.error("the event store did not start: {why}", why=result.getErrorMessage())
            else:
                log.failure("the event store did not start", result)
        return None

    def when_ready(self) -> Deferred:
        """Fires with the started store, or fails with why it could not start."""
        waiter = Deferred()
        if self._outcome is not None:
            if isinstance(self._outcome, Failure):
                waiter.errback(self._outcome)
            else:
                waiter.callback(self._outcome)
            return waiter
        self._waiters.append(waiter)
        return waiter

    async def _start(self) -> RedisEventStore:
        if self.target is None:
            self.embedded = EmbeddedRedis(self.data_dir, self.reactor, fsync=self.fsync)
            self.embedded.startService()
            await self.embedded.ready()
            self.client = await self._connect_unix(self.embedded.socket_path)
        elif self.target[0] == "unix":
            self.client = await self._connect_unix(self.target[1])
        else:
            host, port, db = self.target[1]
            self.client = await txredisapi.Connection(
                host, port, dbid=db, reconnect=True, charset=None, convertNumbers=False)
        store = RedisEventStore(self.client, self.max_events,
                                RecentWindow(self.timeline_events, self.timeline_bytes),
                                clock=self.reactor)
        warmed = await store.warm()
        self.store = store
        log.info("event store ready: {n} recent events in memory", n=warmed)
        return store

    @staticmethod
    def _connect_unix(path: str) -> Deferred:
        return txredisapi.UnixConnection(path, reconnect=True, charset=None, convertNumbers=False)

    def stopService(self) -> Deferred:
        Service.stopService(self)
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self._ready is not None and not self._ready.called:
            # Still starting: let the start finish (or fail) before tearing down.
            try:
                await self._ready
            except Exception:
                pass
        if self.client is not None:
            await self.client.disconnect()
            self.client = None
        if self.embedded is not None:
            await self.embedded.stopService()
            self.embedded = None
        self.store = None
