"""What the REST and relay benchmarks share: a store holding signed posts, a measured run in a
separate load process (so the server keeps its core), and the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from twisted.internet import defer


async def store_with_posts(prefix: str, secret: bytes, count: int, text: str):
    """(StoreService, store) on a fresh embedded Redis holding ``count`` kind 1 posts."""
    from nostrp2p.logging import configure_logging
    from nostrp2p.nostr import KeyPair, sign_event
    from nostrp2p.store.service import StoreService

    configure_logging(False)
    owner = KeyPair.from_secret(secret)
    service = StoreService(tempfile.mkdtemp(prefix=prefix))
    service.startService()
    store = await service.when_ready()
    for n in range(count):
        await store.add(sign_event(owner.secret, 1_700_000_000 + n, 1,
                                   (("p", owner.public.hex()),), f"{text} {n}"))
    return service, store


async def run_load(script: str, argv: list[str]) -> dict:
    """Run ``script --load ARGV...`` in its own process; its JSON result, with
    ``per_cpu_second``: its ``count`` per second of this (the server's) process's CPU time."""
    from twisted.internet.utils import getProcessOutputAndValue

    cpu_before = time.process_time()
    out, err, code = await getProcessOutputAndValue(
        sys.executable, [os.path.abspath(script), "--load", *argv], env=os.environ)
    if code != 0:
        raise SystemExit(f"load process failed:\n{err.decode()}")
    result = json.loads(out)
    result["per_cpu_second"] = result["count"] / (time.process_time() - cpu_before)
    return result


def main(doc: str, options, load, serve) -> None:
    """Parse the command line (``options(parser)`` adds the benchmark's own) and run ``load``
    (with --load) or ``serve`` under the reactor."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    options(parser)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--what", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    task = load if args.load else serve

    from twisted.internet.task import react
    react(lambda _reactor: defer.Deferred.fromCoroutine(task(args)))
