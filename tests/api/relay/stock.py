"""Drives stock_client.py (nostr-sdk in its own process) from a trial test."""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from pathlib import Path

from twisted.internet import defer, protocol, reactor

SCRIPT = Path(__file__).with_name("stock_client.py")
REPORT_TIMEOUT = 30.0


class StockClient(protocol.ProcessProtocol):
    def __init__(self):
        self.reports: deque = deque()
        self._buffer = b""
        self._waiting = None
        self.stderr = bytearray()
        self.ended = defer.Deferred()

    def outReceived(self, data):
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if line.strip():
                self.reports.append(json.loads(line))
        self._wake()

    def errReceived(self, data):
        if len(self.stderr) < 65536:
            self.stderr += data

    def processEnded(self, reason):
        self.ended.callback(None)
        self._wake()

    def _wake(self):
        if self._waiting is not None and not self._waiting.called:
            self._waiting.callback(None)

    def command(self, op: str, **fields) -> None:
        self.transport.write(json.dumps(dict(fields, op=op)).encode() + b"\n")

    async def report(self, op: str, timeout: float = REPORT_TIMEOUT, **match) -> dict:
        """The first waiting report of this op with these field values (it is consumed; other
        reports stay for later calls). An "error" report fails the test."""
        deadline = reactor.seconds() + timeout
        while True:
            for i, item in enumerate(self.reports):
                if item["op"] == "error":
                    raise AssertionError(f"stock client: {item['message']}")
                if item["op"] == op and all(item.get(k) == v for k, v in match.items()):
                    del self.reports[i]
                    return item
            if self.ended.called:
                raise AssertionError(f"stock client exited: {self.stderr.decode(errors='replace')}")
            remaining = deadline - reactor.seconds()
            if remaining <= 0:
                raise AssertionError(f"no {op} {match} from the stock client; got "
                                     f"{list(self.reports)}; stderr "
                                     f"{self.stderr.decode(errors='replace')[-2000:]}")
            self._waiting = defer.Deferred()
            timer = reactor.callLater(remaining, self._wake)
            await self._waiting
            if timer.active():
                timer.cancel()

    async def request(self, op: str, answer: str, **fields) -> dict:
        self.command(op, **fields)
        return await self.report(answer)


async def start_stock_client(testcase, url: str, secret: bytes | None) -> StockClient:
    client = StockClient()
    reactor.spawnProcess(client, sys.executable, [sys.executable, str(SCRIPT)],
                         env=dict(os.environ))
    testcase.addCleanup(_stop, client)
    await client.request("connect", "connected", url=url,
                         secret=secret.hex() if secret else None)
    return client


def _stop(client: StockClient):
    if not client.ended.called:
        client.transport.signalProcess("KILL")
        return client.ended
    return None
