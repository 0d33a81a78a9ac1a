"""StoreService: the store as a Twisted service (embedded redis-server or a Redis URL)."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

import txredisapi
from twisted.application.service import Service
from twisted.internet.defer import CancelledError, Deferred, TimeoutError
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from ..logging import Logger
from . import limits
from .embedded import EmbeddedRedis, StoreStartError
from .redis_store import RedisEventStore
from .timeline import RecentWindow

log = Logger()

SNAPSHOT_POLL_SECONDS = 0.05


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
            if result.check(CancelledError):
                pass  # stopped while starting
            elif result.check(StoreStartError):
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
            loading_snapshot = self.embedded.loading_snapshot
            await self.embedded.ready()
            await self._reach(self._connect_unix(self.embedded.socket_path),
                              "the embedded redis-server")
            if loading_snapshot:
                await self._append_only_from_snapshot()
        elif self.target[0] == "unix":
            await self._reach(self._connect_unix(self.target[1]), f"Redis at {self.redis_url}")
        else:
            host, port, db = self.target[1]
            await self._reach(txredisapi.lazyConnection(
                host, port, dbid=db, reconnect=True, charset=None, convertNumbers=False),
                f"Redis at {self.redis_url}")
        store = RedisEventStore(self.client, self.max_events,
                                RecentWindow(self.timeline_events, self.timeline_bytes),
                                clock=self.reactor)
        warmed = await store.warm()
        self.store = store
        log.info("event store ready: {n} recent events in memory", n=warmed)
        return store

    async def _append_only_from_snapshot(self) -> None:
        """The embedded server loaded a restored dump.rdb: write the AOF from memory and keep
        it from now on, before anything is acknowledged."""
        await self.client.execute_command("CONFIG", "SET", "appendonly", "yes")
        deadline = self.reactor.seconds() + limits.REDIS_READY_TIMEOUT_SECONDS
        while True:
            info = await self.client.execute_command("INFO", "persistence")
            fields = dict(line.split(b":", 1) for line in info.split(b"\r\n") if b":" in line)
            if (fields.get(b"aof_enabled") == b"1" and fields.get(b"aof_rewrite_in_progress") == b"0"
                    and fields.get(b"aof_rewrite_scheduled") == b"0"):
                break
            if self.reactor.seconds() > deadline:
                raise StoreStartError("redis-server did not write its append-only file from the "
                                      "restored dump.rdb in time")
            await deferLater(self.reactor, SNAPSHOT_POLL_SECONDS, lambda: None)
        self.embedded.append_only_on()
        log.info("restored the event store from dump.rdb; append-only file written")

    async def _reach(self, client, where: str) -> None:
        """Wait for the first answer of a (reconnecting) client: StoreStartError if none comes
        within STORE_ANSWER_DEADLINE_SECONDS, so that a server whose store is not there says so
        and exits rather than retrying for ever."""
        self.client = client
        answered = client.ping()
        answered.addTimeout(limits.STORE_ANSWER_DEADLINE_SECONDS, self.reactor)
        try:
            await answered
        except TimeoutError:
            raise StoreStartError(f"{where} did not answer within "
                                  f"{limits.STORE_ANSWER_DEADLINE_SECONDS:g} s") from None

    @staticmethod
    def _connect_unix(path: str):
        return txredisapi.lazyUnixConnection(path, reconnect=True, charset=None,
                                             convertNumbers=False)

    def stopService(self) -> Deferred:
        Service.stopService(self)
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self._ready is not None and not self._ready.called:
            # Still starting (waiting for Redis to answer, say): give up the start.
            self._ready.cancel()
        if self.client is not None:
            await self.client.disconnect()
            self.client = None
        if self.embedded is not None:
            await self.embedded.stopService()
            self.embedded = None
        self.store = None
