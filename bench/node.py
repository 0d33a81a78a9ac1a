"""Node layer intake and answer encoding, against what it must do at least, in the same run.

    .venv/bin/python bench/node.py [--events 3000] [--per-message 50]

Intake: events broadcast by another server (real BIP-340 signatures), in messages of
``--per-message``, through the node's checks (rate budgets, kind, date, copies already held,
signature, author cap) into a real store on an embedded redis-server; the baseline verifies and
stores the same number of other events with the same batching and nothing else. Copies: the
same messages again (a share answer of things already held) against a bare store lookup of
their ids. Encoding: a 300-event "share" answer trimmed to the unicast limit against encoding it
untrimmed. Ratios above 1 mean the node costs that much more than the baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from twisted.internet import defer, task  # noqa: E402

from nostrp2p.node import limits  # noqa: E402
from nostrp2p.node.messages import encode_events, encode_events_within  # noqa: E402
from nostrp2p.node.node import Node, NodeSettings  # noqa: E402
from nostrp2p.nostr import KeyPair, sign_event, verify_event  # noqa: E402
from nostrp2p.store.service import StoreService  # noqa: E402
from tests.node.network import MemoryNetwork  # noqa: E402

AUTHORS = [KeyPair.from_secret(bytes([n + 1]) * 32) for n in range(30)]
NOW = 1_732_400_000
UNBOUNDED = NodeSettings(peer_events_per_minute=10**9, author_events_per_hour=10**9,
                         share_repeat_seconds=10**9)


def make_events(count: int, tag: str):
    return [sign_event(AUTHORS[n % len(AUTHORS)].secret, NOW - n, 1, (),
                       f"{tag} event {n}: " + "words " * 40) for n in range(count)]


def batches(events, size):
    return [events[i:i + size] for i in range(0, len(events), size)]


async def baseline_intake(store, messages) -> float:
    async def one(message):
        for event in message:
            verify_event(event)
        await defer.gatherResults([store.add(e) for e in message], consumeErrors=True)
    started = time.perf_counter()
    await defer.gatherResults([defer.ensureDeferred(one(m)) for m in messages], consumeErrors=True)
    return time.perf_counter() - started


async def node_intake(node, sender, messages) -> float:
    started = time.perf_counter()
    for message in messages:
        sender.broadcast(encode_events(message))
    await node.settled()
    return time.perf_counter() - started


async def baseline_lookup(store, messages) -> float:
    started = time.perf_counter()
    await defer.gatherResults([store.get([e.id for e in m]) for m in messages], consumeErrors=True)
    return time.perf_counter() - started


def encoding_ratio(events) -> tuple[float, int, int]:
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        whole = encode_events(events)
    plain = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(rounds):
        trimmed, kept = encode_events_within(events, limits.MAX_UNICAST_PAYLOAD)
    return (time.perf_counter() - started) / plain, len(whole), len(trimmed)


async def main(reactor, count: int, per_message: int):
    data_dir = tempfile.mkdtemp(prefix="bench-node-")
    service = StoreService(data_dir, reactor=reactor)
    service.startService()
    try:
        store = await service.when_ready()
        clock = task.Clock()
        clock.advance(NOW)
        network = MemoryNetwork(clock)
        node = Node(store, network.join(b"\x01" * 32), b"\x01" * 32, clock, UNBOUNDED)
        sender = network.join(b"\x02" * 32)
        sender.set_handlers(lambda *a: None, lambda *a: None, lambda *a: b"")
        print(f"signing {2 * count} events...", flush=True)
        base_msgs = batches(make_events(count, "baseline"), per_message)
        node_msgs = batches(make_events(count, "node"), per_message)

        base = await baseline_intake(store, base_msgs)
        took = await node_intake(node, sender, node_msgs)
        stored = node.counters["stored"]
        print(f"intake: node {count / took:,.0f} events/s, baseline (verify + add) "
              f"{count / base:,.0f} events/s, ratio {took / base:.2f} (stored {stored}/{count})")

        base = await baseline_lookup(store, node_msgs)
        took = await node_intake(node, sender, node_msgs)
        print(f"copies: node {count / took:,.0f} events/s, baseline (get ids) "
              f"{count / base:,.0f} events/s, ratio {took / base:.2f} "
              f"(duplicates {node.counters['duplicates']})")

        big = [sign_event(AUTHORS[0].secret, NOW - n, 1, (), "x" * 3000) for n in range(300)]
        ratio, whole, trimmed = encoding_ratio(big)
        print(f"share answer of 300 events: trimmed to {trimmed:,} of {whole:,} bytes, "
              f"encoding time ratio {ratio:.2f}")
    finally:
        await service.stopService()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--per-message", type=int, default=50)
    arguments = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(
        main(reactor, arguments.events, arguments.per_message)))
