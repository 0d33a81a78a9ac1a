"""Event store throughput and memory (both processes), against raw Redis in the same run.

    .venv/bin/python bench/store.py [--ingest 1000000] [--max-events 100000] [--memory-only]

Prints events stored per second and timeline reads per second, each as a ratio against raw
SET and ZADD throughput driven by the same txredisapi client on the same embedded
redis-server (AOF everysec, the default), then the RSS of both processes (this one, which
holds the store and its in-memory window as the server would, and redis-server) every tenth of
an ingest of ``--ingest`` events of 200-300 bytes of content into a store capped at
``--max-events`` (and the peak of their sum, sampled every 500 events), and at the end what each
Redis key costs per event held. Events carry real
NIP-01 ids but random signatures: the store does not verify (the layers above do), and signing
would only measure coincurve.
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

from nostrp2p.collector import settle_after_start  # noqa: E402
from nostrp2p.nostr import Event, Filter, compute_id  # noqa: E402
from nostrp2p.nostr.codec import pack_event  # noqa: E402
from nostrp2p.store.service import StoreService  # noqa: E402

IN_FLIGHT = 64  # commands outstanding at once, as a busy server would have
RAW_OPS = 20_000
READS = 5_000
INGEST_CHUNK = 500


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
        size = rng.randrange(200, 301)  # bytes of content, as the memory goal states
        content = ""
        while len(content) < size:
            content += rng.choice(words) + " "
        content = content[:size]
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


async def throughput(store, redis) -> None:
    """Store adds and timeline reads against raw SET and ZADD on the same server."""
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


async def info_fields(redis) -> dict:
    info = await redis.execute_command("INFO", "memory")
    return dict(line.split(b":", 1) for line in info.split(b"\r\n") if b":" in line)


async def print_index_costs(redis, held: int) -> None:
    """What each key (or family of keys) of the schema costs per event held (MEMORY USAGE
    with every element sampled)."""
    costs = {}
    cursor = b"0"
    while True:
        cursor, names = await redis.execute_command("SCAN", cursor, "COUNT", 1000)
        for name in names:
            family = name.split(b":")[1].decode() if name.count(b":") > 1 else name.decode()
            usage = await redis.execute_command("MEMORY", "USAGE", name, "SAMPLES", 0)
            costs[family] = costs.get(family, 0) + int(usage or 0)
        if cursor == b"0":
            break
    print(f"memory per event held ({held} events), by key:")
    for family, usage in sorted(costs.items(), key=lambda kv: -kv[1]):
        print(f"  {family:22s} {usage / held:7.1f} bytes")
    print(f"  {'all keys':22s} {sum(costs.values()) / held:7.1f} bytes")


async def main(reactor, ingest: int, max_events: int, memory_only: bool):
    data_dir = tempfile.mkdtemp(prefix="nostrp2p-bench-")
    service = StoreService(data_dir, max_events=max_events, reactor=reactor, fsync="everysec")
    service.startService()
    store = await service.when_ready()
    redis = service.client
    pid = service.embedded.pid
    settle_after_start()  # as the server does once started (startup.py)
    try:
        if not memory_only:
            await throughput(store, redis)
        print(f"\ningesting {ingest} events, cap {max_events}; RSS of this process (the store "
              f"and its window, as in the server) and of redis-server:")
        print(f"  {0:>9} ingested: server {rss_mb(os.getpid()):6.1f} MB + redis "
              f"{rss_mb(pid):6.1f} MB (before)")
        step = max(ingest // 10, 1)
        done = 0
        generator = make_events(ingest, seed=3)
        started = time.perf_counter()
        peak = 0.0
        while done < ingest:
            # A few hundred at a time, as datagrams arrive: the benchmark itself holds little,
            # so this process's RSS is the store's.
            for start in range(done, min(done + step, ingest), INGEST_CHUNK):
                chunk = [e for _, e in zip(range(min(INGEST_CHUNK, ingest - start)), generator)]
                await defer.gatherResults([store.add(e) for e in chunk])
                done += len(chunk)
                # The peak between the printed lines too: an AOF rewrite lasts a few seconds.
                peak = max(peak, rss_mb(os.getpid()) + rss_mb(service.embedded.pid))
            fields = await info_fields(redis)
            server, redis_rss = rss_mb(os.getpid()), rss_mb(service.embedded.pid)
            peak = max(peak, server + redis_rss)
            print(f"  {done:>9} ingested: server {server:6.1f} MB + redis {redis_rss:6.1f} MB = "
                  f"{server + redis_rss:6.1f} MB RSS; redis used_memory "
                  f"{int(fields[b'used_memory']) / 2**20:5.1f} MB, "
                  f"lua {int(fields[b'used_memory_lua']) / 2**20:4.1f} MB; "
                  f"{await store.count()} events held, "
                  f"{done / (time.perf_counter() - started):6.0f} adds/s, "
                  f"{service.embedded.restarts} redis-server restarts")
        print(f"  peak {peak:.1f} MB, both processes sampled every {INGEST_CHUNK} events "
              f"(goal <= 140 MB)")
        await print_index_costs(redis, await store.count())
    finally:
        await service.stopService()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest", type=int, default=1_000_000)
    parser.add_argument("--max-events", type=int, default=100_000)
    parser.add_argument("--memory-only", action="store_true", help="skip the throughput figures")
    arguments = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(
        main(reactor, arguments.ingest, arguments.max_events, arguments.memory_only)))
