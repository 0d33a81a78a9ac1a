"""End-to-end figures of the node layer.

    .venv/bin/python bench/e2e.py [--events 6000] [--runs 3] [--servers 20] [--posts 20]

1. Ingest: events arriving over the overlay (decode, verify id and BIP-340 signature,
   de-duplicate, store in a real embedded Redis with AOF everysec), as events per second and as
   a ratio against bare coincurve BIP-340 verification of the same events in the same run
   (the key parsed and the signature checked, nothing else; goal: >= 0.6); ``--runs`` times.
   Each figure is given per wall-clock second and per CPU second (the server process plus its
   redis-server, against the verifier's own CPU time): on a shared machine the CPU figure is
   the steadier one.
2. Spread: ``--servers`` real servers (``twistd nostrp2p`` processes, each with its own Redis) on
   127.0.0.1 joined through one bootstrap; ``--posts`` posts published one after another on
   random servers; for each, the time from /publish answered to visible in every server's
   timeline. Prints p50 and p99.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from coincurve import PublicKeyXOnly  # noqa: E402
from twisted.internet import defer, task  # noqa: E402
from zope.interface import implementer  # noqa: E402

from nostrp2p.collector import settle_after_start  # noqa: E402
from nostrp2p.node.messages import encode_events  # noqa: E402
from nostrp2p.node.node import Node, NodeSettings  # noqa: E402
from nostrp2p.node.overlay import IOverlay  # noqa: E402
from nostrp2p.nostr import KeyPair, sign_event  # noqa: E402
from nostrp2p.store.service import StoreService  # noqa: E402

POLL_INTERVAL = 0.02
BURST = 500  # below the node's MAX_TASKS_IN_FLIGHT
SPREAD_TIMEOUT = 60.0
UNLIMITED = 10**9


@implementer(IOverlay)
class FeedingOverlay:
    """The overlay side of the ingest benchmark: it keeps the handlers the node registers so the
    benchmark can hand the node payloads exactly as the mesh would."""

    def __init__(self):
        self.on_broadcast = None

    def set_handlers(self, on_broadcast, on_message, on_request):
        self.on_broadcast = on_broadcast

    def broadcast(self, payload):
        pass

    def neighbours(self):
        return []

    def send(self, owner_key, payload):
        return defer.succeed(None)

    def request(self, owner_key, payload):
        return defer.fail(RuntimeError("no requests in this benchmark"))


def signed_events(count: int, authors: int = 50):
    rng = random.Random(7)
    keys = [KeyPair.from_secret(rng.randbytes(32)) for _ in range(authors)]
    now = int(time.time())
    return [sign_event(keys[n % authors].secret, now - n, 1, [["t", "bench"]],
                       f"event {n}: " + "x" * rng.randrange(20, 280)) for n in range(count)]


def child_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_verify_rate(events) -> tuple[float, float]:
    """Verifications per wall-clock second and per CPU second: coincurve itself, the key
    parsed and the signature checked for each event (the server keeps recent authors' keys
    parsed; this baseline does not, so it stays what a bare BIP-340 check costs)."""
    started, cpu = time.perf_counter(), time.process_time()
    for event in events:
        if not PublicKeyXOnly(event.pubkey).verify(event.sig, event.id):
            raise AssertionError("a benchmark event does not verify")
    return (len(events) / (time.perf_counter() - started),
            len(events) / (time.process_time() - cpu))


async def ingest_rate(reactor, events, data_dir: str) -> tuple[float, float]:
    """Events ingested per wall-clock second and per CPU second of this process and its
    redis-server together."""
    store_service = StoreService(data_dir, reactor=reactor)
    store_service.startService()
    store = await store_service.when_ready()
    redis_pid = store_service.embedded.pid
    try:
        overlay = FeedingOverlay()
        settings = NodeSettings(peer_events_per_minute=UNLIMITED, author_events_per_hour=UNLIMITED)
        node = Node(store, overlay, b"\x01" * 32, reactor, settings)
        # Each from its author's server: a broadcast carries its origin's own events only.
        payloads = [(encode_events([event]), event.pubkey) for event in events]
        settle_after_start()  # as the server does once started (startup.py)
        started, cpu = time.perf_counter(), time.process_time()
        redis_cpu = child_cpu_seconds(redis_pid)
        # As datagrams arrive: a burst at a time, each stored before the node takes more than
        # its bound on work in progress.
        for start in range(0, len(payloads), BURST):
            for payload, origin in payloads[start:start + BURST]:
                overlay.on_broadcast(payload, origin, origin)
            await node.settled()
        elapsed = time.perf_counter() - started
        cpu_used = time.process_time() - cpu + child_cpu_seconds(redis_pid) - redis_cpu
        for start in range(0, len(events), 1000):
            batch = events[start:start + 1000]
            if len(await store.get([e.id for e in batch])) != len(batch):
                raise AssertionError(f"the node did not store every event: {dict(node.counters)}")
        return len(events) / elapsed, len(events) / cpu_used
    finally:
        await store_service.stopService()


async def spread(reactor, servers: int, posts: int, workdir: Path):
    from tests.e2e.cluster import Server, poll_until

    cluster = [Server(f"s{n}", KeyPair.generate(), workdir / f"s{n}",
                      extra_args=("--deny-write",) if n == 0 else ()) for n in range(servers)]
    try:
        await cluster[0].start(reactor)
        await defer.gatherResults([s.start(reactor, [cluster[0]]) for s in cluster[1:]])
        rng = random.Random(3)
        latencies = []
        for n in range(posts):
            author = rng.choice(cluster[1:])
            event = sign_event(author.keys.secret, int(time.time()), 1, [], f"spread {n}")
            status, body = await author.publish(event)
            if status != 200:
                raise AssertionError(f"publish failed: {status} {body}")
            started = time.perf_counter()
            seen_at = {}  # server name -> seconds after /publish answered when first seen

            async def look(server):
                if any(e.id == event.id for e in await server.timeline()):
                    seen_at.setdefault(server.name, time.perf_counter() - started)

            async def everyone_has_it():
                # All servers at once, each stamped when its answer came: asking them one
                # after another would add the time of 20 requests to the figure.
                await defer.gatherResults([defer.ensureDeferred(look(server)) for server in cluster
                                           if server.name not in seen_at], consumeErrors=True)
                return len(seen_at) == len(cluster)

            await poll_until(reactor, everyone_has_it, SPREAD_TIMEOUT,
                             f"post {n} did not reach every server", POLL_INTERVAL)
            latencies.append(max(seen_at.values()))
        return latencies
    finally:
        for server in cluster:
            await server.stop(reactor)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main(reactor, args):
    workdir = Path(tempfile.mkdtemp(prefix="nostrp2p-bench-e2e-"))
    try:
        events = signed_events(args.events)
        for run in range(args.runs):
            bare, bare_cpu = bare_verify_rate(events)
            ingest, ingest_cpu = await ingest_rate(reactor, events, str(workdir / f"ingest{run}"))
            print(f"ingest over the overlay: {ingest:,.0f} events/s; bare BIP-340 verify: "
                  f"{bare:,.0f}/s; ratio {ingest / bare:.2f} (goal >= 0.6) | per CPU second: "
                  f"{ingest_cpu:,.0f} against {bare_cpu:,.0f}, ratio {ingest_cpu / bare_cpu:.2f}")
        if args.servers:
            latencies = await spread(reactor, args.servers, args.posts, workdir)
            print(f"{args.servers} servers, {len(latencies)} posts: publish to visible on all "
                  f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
                  f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms "
                  f"(poll interval {POLL_INTERVAL * 1000:.0f} ms)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=3, help="ingest measurements")
    parser.add_argument("--servers", type=int, default=20)
    parser.add_argument("--posts", type=int, default=20)
    arguments = parser.parse_args()
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, arguments)))
