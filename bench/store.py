"""Event store throughput and redis-server memory, against raw Redis in the same run.

    .venv/bin/python bench/store.py [--ingest 1000000] [--max-events 100000]

Prints events stored per second and timeline reads per second, each as a ratio against raw
SET and ZADD throughput driven by the same txredisapi client on the same embedded
redis-server (AOF everysec, the default), then the RSS of redis-server while ingesting
``--ingest`` events into a store capped at ``--max-events``. Events carry real NIP-01 ids but
random signatures: the store does not verify (the layers above do), and signing would only
measure coincurve.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import txredisapi  # noqa: E402
from twisted.internet import defer, task  # noqa: E402

from nostrp2p.nostr import Event, Filter, compute_id  # noqa: E402
from nostrp2p.nostr.codec import pack_event  # noqa: E402
from nostrp2p.store.service import StoreService  # noqa: E402

IN_FLIGHT = 64  # commands outstanding at once, as a busy server would have
RAW_OPS = 20_000
READS = 5_000


def make_events(count: int, seed: int, authors: int = 1000):
    rng = random.Random(seed)
    pubkeys = [rng.randbytes(32) for _ in range(authors)]
    words = "the a server home peer note event relay mesh key time sun moon".split()
    start = 1_700_000_000
    for n in range(count):
        pubkey = rng.choice(pubkeys)
        roll = rng.random()
        kind = 0 if roll < 0.01 else 3 if roll < 0.02 else 1
        tags = (("p", rng.choice(pubkeys).hex()),) if rng.random() < 0.3 else ()
        content = " ".join(rng.choice(words) for _ in range(rng.randrange(5, 30)))
        created_at = start + n // 4
        event_id = compute_id(pubkey, created_at, kind, tags, content)
        yield Event(event_id, pubkey, created_at, kind, tags, content, rng.randbytes(64))


async def run_bounded(calls) -> float:
    """Run zero-argument Deferred-returning calls, IN_FLIGHT at a time; seconds taken."""
    semaphore = defer.DeferredSemaphore(IN_FLIGHT)
    started = time.perf_counter()
    pending = [semaphore.run(call) for call in calls]
    await defer.gatherResults(pending, consumeErrors=True)
    return time.perf_counter() - started


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def main(reactor, ingest: int, max_events: int):
    data_dir = tempfile.mkdtemp(prefix="nostrp2p-bench-")
    service = StoreService(data_dir, max_events=max_events, reactor=reactor, fsync="everysec")
    service.startService()
    store = await service.when_ready()
    redis = service.client
    pid = service.embedded.pid
    try:
        sample = pack_event(next(make_events(1, seed=1)))
        blob = b"x" * len(sample)
        set_seconds = await run_bounded(
            (lambda n=n: redis.set(b"bench:set:%d" % n, blob)) for n in range(RAW_OPS))
        zadd_seconds = await run_bounded(
            (lambda n=n: redis.execute_command("ZADD", b"bench:zset", 0, b"%040d" % n))
            for n in range(RAW_OPS))
        await redis.execute_command("DEL", b"bench:zset")
        for start in range(0, RAW_OPS, 1000):
            await redis.execute_command("DEL", *[b"bench:set:%d" % n for n in range(start, start + 1000)])
        set_rate, zadd_rate = RAW_OPS / set_seconds, RAW_OPS / zadd_seconds
        print(f"raw SET  {set_rate:10.0f}/s   raw ZADD {zadd_rate:10.0f}/s   "
              f"({IN_FLIGHT} in flight, {len(blob)}-byte values)")

        events = list(make_events(RAW_OPS, seed=2))
        add_seconds = await run_bounded((lambda e=e: store.add(e)) for e in events)
        add_rate = len(events) / add_seconds
        print(f"store.add {add_rate:9.0f}/s   = {add_rate / set_rate:.2f} x SET, "
              f"{add_rate / zadd_rate:.2f} x ZADD")

        timeline = Filter(limit=50)
        window_seconds = await run_bounded((lambda: store.query(timeline)) for _ in range(READS))
        window_rate = READS / window_seconds
        print(f"timeline read (newest 50, in-memory window) {window_rate:9.0f}/s   "
              f"= {window_rate / set_rate:.2f} x SET, {window_rate / zadd_rate:.2f} x ZADD")
        older = Filter(until=events[len(events) // 3].created_at, limit=50)
        redis_seconds = await run_bounded((lambda: store.query(older)) for _ in range(READS // 5))
        redis_rate = READS // 5 / redis_seconds
        print(f"timeline read (50 older than the window, Redis) {redis_rate:6.0f}/s   "
              f"= {redis_rate / set_rate:.2f} x SET, {redis_rate / zadd_rate:.2f} x ZADD")

        print(f"\ningesting {ingest} events, cap {max_events}; redis-server RSS:")
        print(f"  {0:>9} ingested: {rss_mb(pid):7.1f} MB (before)")
        step = max(ingest // 10, 1)
        done = 0
        generator = make_events(ingest, seed=3)
        started = time.perf_counter()
        while done < ingest:
            batch = [e for _, e in zip(range(min(step, ingest - done)), generator)]
            await run_bounded((lambda e=e: store.add(e)) for e in batch)
            done += len(batch)
            info = await redis.execute_command("INFO", "memory")
            fields = dict(line.split(b":", 1) for line in info.split(b"\r\n") if b":" in line)
            used = b"used_memory:" + fields[b"used_memory"]
            print(f"  {done:>9} ingested: {rss_mb(service.embedded.pid):7.1f} MB RSS, "
                  f"used_memory {int(used.split(b':')[1]) / 2**20:6.1f} MB, "
                  f"lua {int(fields[b'used_memory_lua']) / 2**20:5.1f} MB, "
                  f"{await store.count()} events held, "
                  f"{done / (time.perf_counter() - started):6.0f} adds/s, "
                  f"{service.embedded.restarts} memory restarts")
    finally:
        await service.stopService()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest", type=int, default=1_000_000)
    parser.add_argument("--max-events", type=int, default=100_000)
    arguments = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(
        main(reactor, arguments.ingest, arguments.max_events)))
