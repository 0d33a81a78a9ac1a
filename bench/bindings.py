"""What owner bindings cost (docs/BINDING.md).

    .venv/bin/python bench/bindings.py [--bindings 2000] [--rounds 5]

Prints the wire size of a binding as ``nostrp2p bind`` makes it (packed and as NIP-01 JSON),
then bindings verified per second by :class:`BindingCache`, the first time (decode, tag checks,
BIP-340 signature) and once cached, each as a ratio against bare coincurve BIP-340
verification of the same bindings in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from nostrp2p.nostr import KeyPair  # noqa: E402
from nostrp2p.nostr.binding import make_binding, pack_binding  # noqa: E402
from nostrp2p.nostr.binding_cache import BindingCache  # noqa: E402
from nostrp2p.nostr.signing import schnorr_verify  # noqa: E402

NOW = 1_800_000_000


def best_rate(count: int, rounds: int, work) -> float:
    """Items per second of the fastest of ``rounds`` runs (the least disturbed by the load)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindings", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    owners = [KeyPair.generate() for _ in range(args.bindings)]
    bindings = [make_binding(o.secret, os.urandom(32), NOW, NOW + 365 * 86400, NOW)
                for o in owners]
    blobs = [(pack_binding(b), b.overlay_key, b.owner) for b in bindings]
    sample = bindings[0]
    print(f"binding size: {len(blobs[0][0])} bytes packed (wire), "
          f"{len(json.dumps(sample.event.to_json(), separators=(',', ':')))} bytes NIP-01 JSON")

    def bare():
        for b in bindings:
            assert schnorr_verify(b.owner, b.id, b.event.sig)

    def first_time():
        cache = BindingCache(max_entries=args.bindings)
        for blob, overlay, owner in blobs:
            cache.verify(blob, overlay, owner, NOW)

    warm = BindingCache(max_entries=args.bindings)
    for blob, overlay, owner in blobs:
        warm.verify(blob, overlay, owner, NOW)

    def cached():
        for blob, overlay, owner in blobs:
            warm.verify(blob, overlay, owner, NOW)

    baseline = best_rate(args.bindings, args.rounds, bare)
    uncached = best_rate(args.bindings, args.rounds, first_time)
    hits = best_rate(args.bindings, args.rounds, cached)
    print(f"bare BIP-340 verify (baseline): {baseline:,.0f}/s")
    print(f"first verification: {uncached:,.0f}/s, ratio {uncached / baseline:.2f}")
    print(f"cached: {hits:,.0f}/s, ratio {hits / baseline:.1f}")


if __name__ == "__main__":
    main()
