"""Real NostrP2P servers as separate processes (``twistd -n nostrp2p``) on 127.0.0.1, each with
its own embedded Redis and data directory, driven only through REST as the mobile client would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import treq
from twisted.internet import defer, protocol, task
from twisted.internet.error import ProcessDone, ProcessTerminated

from nostrp2p.nostr import Event, KeyPair
from nostrp2p.nostr.client_wire import decode_events_answer

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
MAX_LOG_BYTES = 1 << 20  # per server: enough to read a failure, bounded


def free_port(kind=socket.SOCK_STREAM) -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (the overlay and REST may share it)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        with socket.socket(socket.AF_INET, other) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


class _Output(protocol.ProcessProtocol):
    def __init__(self):
        self.log = bytearray()
        self.ended = defer.Deferred()

    def outReceived(self, data):
        if len(self.log) < MAX_LOG_BYTES:
            self.log += data

    errReceived = outReceived

    def processEnded(self, reason):
        self.ended.callback(reason.value)


@dataclass
class Server:
    name: str
    keys: KeyPair
    data_dir: Path
    overlay_port: int = field(default_factory=lambda: free_port(socket.SOCK_DGRAM))
    rest_port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()
    process: object = None
    output: _Output | None = None

    @property
    def overlay(self) -> str:
        return f"127.0.0.1:{self.overlay_port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def argv(self, bootstrap: list["Server"]) -> list[str]:
        argv = [
            sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
            "--nodaemon", "--pidfile=", "--logfile=-", "nostrp2p",
            "--pubkey", self.keys.public.hex(),
            "--listen", self.overlay,
            "--rest", f"tcp:{self.rest_port}:interface=127.0.0.1",
            "--datadir", str(self.data_dir),
            *self.extra_args,
        ]
        for peer in bootstrap:
            argv += ["--bootstrap", peer.overlay]
        return argv

    def start(self, reactor, bootstrap: list["Server"] = ()) -> defer.Deferred:
        self.output = _Output()
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.process = reactor.spawnProcess(
            self.output, sys.executable, self.argv(list(bootstrap)), env=env, path=str(REPO)
        )
        return poll_until(reactor, self._answers, START_TIMEOUT, f"{self.name} did not start")

    async def _answers(self) -> bool:
        try:
            response = await treq.post(self.url + "/req", json={"kinds": [0], "authors": [self.keys.public.hex()]},
                                      persistent=False)
            await response.content()
            return response.code == 200
        except Exception:  # not listening yet
            return False

    async def stop(self, reactor) -> None:
        if self.output is None or self.output.ended.called:
            return
        self.process.signalProcess("TERM")
        timeout = reactor.callLater(STOP_TIMEOUT, self._kill)
        reason = await self.output.ended
        if timeout.active():
            timeout.cancel()
        if not isinstance(reason, ProcessDone) and not (
            isinstance(reason, ProcessTerminated) and reason.signal == signal.SIGTERM
        ):
            raise AssertionError(f"{self.name} exited badly: {reason}\n{self.log_text()}")

    def _kill(self):
        if not self.output.ended.called:
            self.process.signalProcess("KILL")

    def log_text(self) -> str:
        return bytes(self.output.log).decode("utf-8", "replace") if self.output else ""

    # -- the mobile client's two calls ---------------------------------------------------------

    async def publish(self, event: Event) -> tuple[int, dict]:
        response = await treq.post(
            self.url + "/publish", data=json.dumps(event.to_json()).encode(),
            headers={"content-type": ["application/json"]}, persistent=False,
        )
        return response.code, json.loads(await response.content())

    async def req(self, event_filter: dict) -> list[Event]:
        response = await treq.post(self.url + "/req", json=event_filter, persistent=False)
        body = await response.content()
        if response.code != 200:
            raise AssertionError(f"{self.name} /req {event_filter}: {response.code} {body!r}")
        return decode_events_answer(body)

    async def timeline(self) -> list[Event]:
        return await self.req({"kinds": [40000], "since": -1, "until": -1, "limit": 300})


async def _call(predicate):
    result = predicate()
    if isinstance(result, defer.Deferred) or hasattr(result, "__await__"):
        result = await result
    return result


def poll_until(reactor, predicate, timeout: float, message: str, interval: float = 0.1) -> defer.Deferred:
    """Fires when ``predicate()`` (sync or async) is true; fails after ``timeout`` seconds."""

    async def poll():
        deadline = reactor.seconds() + timeout
        while True:
            if await _call(predicate):
                return
            if reactor.seconds() > deadline:
                raise AssertionError(message)
            await task.deferLater(reactor, interval, lambda: None)

    return defer.ensureDeferred(poll())
