"""Real servers for the admin endpoint and command-line client tests: short data directories
(a unix socket path holds at most 107 bytes), the ``nostrp2p`` command run as a process, and a
TCP proxy that records every byte the command sends and receives."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.protocols import portforward

from .cluster import REPO, Server
from .test_servers import Cluster


def short_dir(testcase, prefix="np2p-") -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    testcase.addCleanup(shutil.rmtree, path, True)
    return path


class Servers(Cluster):
    """The e2e cluster with short data directories (the admin socket lives there)."""

    def add(self, name, *extra_args) -> Server:
        server = super().add(name, *extra_args)
        server.data_dir = short_dir(self.testcase) / "data"
        return server

    def freeze(self, server: Server) -> None:
        """The server stops answering at once, as a machine that lost power (SIGSTOP): only
        the others' liveness timeouts can tell. It is let go again (SIGCONT) at cleanup, so
        that it stops cleanly with its Redis."""
        os.kill(server.process.pid, signal.SIGSTOP)
        self.testcase.addCleanup(os.kill, server.process.pid, signal.SIGCONT)


async def nostrp2p(testcase, *args, env=None, cwd=None) -> tuple[str, str, int]:
    """Run ``python -m nostrp2p ARGS`` in ``cwd`` with HOME there too; (stdout, stderr, code)."""
    cwd = cwd or short_dir(testcase, "np2p-cli-")
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HOME": str(cwd),
               **(env or {})}
    out, err, code = await getProcessOutputAndValue(sys.executable, ("-m", "nostrp2p", *args),
                                                    env=environ, path=str(cwd), reactor=reactor)
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), code


async def status(testcase, server: Server) -> dict:
    out, err, code = await nostrp2p(testcase, "status", "--json", "--datadir", str(server.data_dir))
    if code != 0:
        raise AssertionError(f"status of {server.name} failed ({code}): {err}")
    return json.loads(out)


class _RecordingServer(portforward.ProxyServer):
    def dataReceived(self, data):
        self.factory.recorded += data
        super().dataReceived(data)


class _RecordingClient(portforward.ProxyClient):
    def dataReceived(self, data):
        self.peer.factory.recorded += data
        super().dataReceived(data)


class _RecordingClientFactory(portforward.ProxyClientFactory):
    protocol = _RecordingClient


class _RecordingServer2(_RecordingServer):
    clientProtocolFactory = _RecordingClientFactory


class RecordingProxy(portforward.ProxyFactory):
    """Listens on 127.0.0.1 and passes every connection to ``port``, keeping what went both
    ways in ``recorded``."""

    protocol = _RecordingServer2

    def __init__(self, testcase, port: int):
        super().__init__("127.0.0.1", port)
        self.recorded = bytearray()
        self.listening = reactor.listenTCP(0, self, interface="127.0.0.1")
        testcase.addCleanup(self.listening.stopListening)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listening.getHost().port}"
