"""Floods against a real server on loopback: each server and the flood are processes of their own
(tests/mesh/overlay_process.py, tests/mesh/flood.py) on 127.0.0.1 UDP.

- 1,000 forged INIT/s (from one port, then from 50) at server A: a new server still joins A within
  5 s and its broadcast reaches A.
- Bare STUN requests and a replayed INIT from one source: what A sends back is no more than what
  it received, and A keeps serving its members meanwhile."""

import json
import os
import sys

from twisted.internet import defer, protocol, reactor, task
from twisted.trial.unittest import TestCase

from tests.e2e.cluster import REPO

JOIN_DEADLINE = 5.0  # seconds from the newcomer's start (the figure)
START_DEADLINE = 30.0  # a Python process starting on a loaded machine
FLOOD_RATE = 1000


class _Process(protocol.ProcessProtocol):
    """A child whose stdout is JSON lines, kept in ``lines``."""

    def __init__(self):
        self.lines = []
        self.buffer = b""
        self.ended = defer.Deferred()
        self.errors = b""

    def outReceived(self, data):
        self.buffer += data
        *complete, self.buffer = self.buffer.split(b"\n")
        self.lines += [json.loads(line) for line in complete if line.strip()]

    def errReceived(self, data):
        self.errors = (self.errors + data)[-4000:]

    def processEnded(self, reason):
        self.ended.callback(None)

    def last(self, key):
        return next((line[key] for line in reversed(self.lines) if key in line), None)

    def say(self, command):
        self.transport.write(command.encode() + b"\n")


@defer.inlineCallbacks
def poll(predicate, seconds, what):
    deadline = reactor.seconds() + seconds
    while not predicate():
        if reactor.seconds() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        yield task.deferLater(reactor, 0.02, lambda: None)


class FloodTests(TestCase):
    timeout = 120

    def _spawn(self, module, *args):
        child = _Process()
        reactor.spawnProcess(child, sys.executable, [sys.executable, "-m", module, *map(str, args)],
                             env={"PYTHONPATH": str(REPO), "PATH": ""}, path=str(REPO))

        def stop():
            if not child.ended.called:
                child.transport.signalProcess("KILL")
                return child.ended
        self.addCleanup(stop)
        return child

    @defer.inlineCallbacks
    def _server(self, index, bootstrap=None):
        server = self._spawn("tests.mesh.overlay_process", self.keys, index, *([bootstrap] if bootstrap else []))
        try:
            yield poll(lambda: server.last("listening"), START_DEADLINE, f"server {index} to start")
        except AssertionError:
            raise AssertionError(f"server {index} did not start: {server.errors.decode(errors='replace')}") from None
        return server

    def setUp(self):
        self.keys = os.path.abspath(self.mktemp())
        os.makedirs(self.keys)

    @defer.inlineCallbacks
    def _stats(self, server):
        count = sum("stats" in line for line in server.lines)
        server.say("stats")
        yield poll(lambda: sum("stats" in line for line in server.lines) > count, 5, "stats")
        return server.last("stats")

    @defer.inlineCallbacks
    def _until_counted(self, server, counters, what, at_least=100):
        """Poll ``server``'s counters until ``counters`` add up to ``at_least``."""
        deadline = reactor.seconds() + START_DEADLINE
        while True:
            stats = yield self._stats(server)
            if sum(stats.get(name, 0) for name in counters) >= at_least:
                return
            if reactor.seconds() > deadline:
                raise AssertionError(f"not within {START_DEADLINE} s: {what}")
            yield task.deferLater(reactor, 0.05, lambda: None)

    def _broadcast_reaches(self, sender, receiver, text):
        sender.say(f"broadcast {text}")
        return poll(lambda: any(line.get("broadcast") == text for line in receiver.lines),
                    JOIN_DEADLINE, f"the broadcast {text!r} to arrive")

    @defer.inlineCallbacks
    def _newcomer_joins_during_flood(self, source_ports):
        a = yield self._server(1)
        port = a.last("listening")
        flood = self._spawn("tests.mesh.flood", port, "init", FLOOD_RATE, 7, source_ports)
        # the flood is on (A counts what it refuses) before the newcomer starts
        yield self._until_counted(a, ("cookie_sent", "drop_half_open_full"), "the flood to reach A")
        b = yield self._server(2, port)
        yield poll(lambda: 2 in (a.last("peers") or []) and 1 in (b.last("peers") or []),
                   JOIN_DEADLINE, "the newcomer to join A during the flood")
        yield self._broadcast_reaches(b, a, "hello from the newcomer")
        self.assertFalse(flood.ended.called, "the flood ended before the newcomer joined")
        yield flood.ended
        [result] = flood.lines
        self.assertGreater(result["sent"], FLOOD_RATE * 5)
        stats = yield self._stats(a)
        return stats

    @defer.inlineCallbacks
    def test_newcomer_joins_during_a_forged_init_flood_from_one_port(self):
        stats = yield self._newcomer_joins_during_flood(1)
        self.assertGreater(stats["cookie_sent"], FLOOD_RATE)

    @defer.inlineCallbacks
    def test_newcomer_joins_during_a_forged_init_flood_from_fifty_ports(self):
        stats = yield self._newcomer_joins_during_flood(50)
        self.assertGreater(stats["cookie_sent"], FLOOD_RATE)

    @defer.inlineCallbacks
    def test_stun_and_replayed_init_flood_gets_back_no_more_than_it_sent(self):
        a = yield self._server(1)
        port = a.last("listening")
        member = yield self._server(2, port)
        yield poll(lambda: 1 in (member.last("peers") or []), START_DEADLINE, "a member to join A")
        flood = self._spawn("tests.mesh.flood", port, "stun-replay", FLOOD_RATE, 3, 1)
        yield self._until_counted(a, ("stun_answered", "drop_stun_over_rate"), "the flood to reach A")
        yield self._broadcast_reaches(member, a, "during the flood")
        self.assertFalse(flood.ended.called, "the flood ended before the member was heard")
        yield flood.ended
        [result] = flood.lines
        self.assertGreater(result["sent"], FLOOD_RATE * 2)
        ratio = result["received_bytes"] / result["sent_bytes"]
        self.assertLessEqual(ratio, 1.0, f"A sent back {ratio:.2f} x what it received: {result}")
        self.assertEqual(member.last("peers"), [1])

    @defer.inlineCallbacks
    def test_a_replayed_init_flood_gets_back_less_than_it_sent(self):
        a = yield self._server(1)
        flood = self._spawn("tests.mesh.flood", a.last("listening"), "replay", FLOOD_RATE, 2, 1)
        yield flood.ended
        [result] = flood.lines
        self.assertGreater(result["received"], 0)  # answered, with COOKIE frames
        ratio = result["received_bytes"] / result["sent_bytes"]
        self.assertLessEqual(ratio, 1.0, f"A sent back {ratio:.2f} x what it received: {result}")
        stats = yield self._stats(a)
        self.assertGreater(stats["cookie_sent"], FLOOD_RATE)
