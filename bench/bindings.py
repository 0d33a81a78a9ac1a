"""What owner bindings cost (docs/BINDING.md).

    .venv/bin/python bench/bindings.py [--bindings 2000] [--rounds 5]

Prints the wire size of a binding as ``nostrp2p bind`` makes it (packed and as NIP-01 JSON),
what it adds on the overlay (per handshake, per descriptor, and how many descriptors a FOUND
then holds), then bindings verified per second by :class:`BindingCache`, the first time
(decode, tag checks, BIP-340 signature) and once cached, and by the overlay's own claims
(``OwnerClaims.check``: a binding it has verified before for that overlay key and owner), each
as a ratio against bare coincurve BIP-340 verification of the same bindings in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from nostrp2p.binding.overlay_source import OverlayBindings  # noqa: E402
from nostrp2p.mesh import messages as m, wire  # noqa: E402
from nostrp2p.mesh.claims import OwnerClaims  # noqa: E402
from nostrp2p.mesh.descriptor import Descriptor  # noqa: E402
from nostrp2p.mesh.identity import Identity  # noqa: E402
from nostrp2p.mesh.routing import fit_found  # noqa: E402
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


class _Core:
    """What OwnerClaims asks of the overlay core: an identity and counters."""

    def __init__(self):
        self.identity = Identity.generate(bytes(32))

    def count(self, reason):
        pass


def overlay_costs(blob: bytes) -> None:
    frame = wire.DATA_HEADER_SIZE + wire.TAG_SIZE
    bound = len(wire.pack(m.Claim(blob, True).encode())) + frame
    unbound = len(wire.pack(m.Claim(None, False).encode())) + frame
    print(f"per new session: a CLAIM frame of {bound} bytes from each bound side, {unbound} "
          f"bytes back from an unbound one; two bound servers {2 * bound}, two unbound 0")
    desc = Descriptor(os.urandom(32), os.urandom(32), "203.0.113.77", 40000)
    plain = len(wire.pack(desc.encode()))
    with_binding = len(wire.pack(Descriptor(*desc.encode(), blob).encode()))
    print(f"descriptor: {plain} bytes, {with_binding} with its binding "
          f"(+{with_binding - plain})")
    others = [Descriptor(os.urandom(32), os.urandom(32), "203.0.113.%d" % i, 40000 + i)
              for i in range(8)]
    relays = others[:4]
    full = fit_found(1, [Descriptor(*desc.encode(), blob)] + others[:7], relays)
    room = 1200 - frame
    print(f"FOUND with the sought owner's binding and 4 relays: {len(full.found)} descriptors "
          f"({len(wire.pack(full.encode()))} of {room} bytes); without a binding 8 fit "
          f"({len(wire.pack(fit_found(1, others, relays).encode()))} bytes)")


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

    overlay_costs(blobs[0][0])
    claims = OwnerClaims(_Core(), OverlayBindings(lambda: None))
    for blob, overlay, owner in blobs:
        assert claims.check(overlay, owner, blob, NOW)

    def overlay_cached():
        for blob, overlay, owner in blobs:
            claims.check(overlay, owner, blob, NOW)

    baseline = best_rate(args.bindings, args.rounds, bare)
    uncached = best_rate(args.bindings, args.rounds, first_time)
    hits = best_rate(args.bindings, args.rounds, cached)
    overlay_hits = best_rate(args.bindings, args.rounds, overlay_cached)
    print(f"bare BIP-340 verify (baseline): {baseline:,.0f}/s")
    print(f"first verification: {uncached:,.0f}/s, ratio {uncached / baseline:.2f}")
    print(f"cached: {hits:,.0f}/s, ratio {hits / baseline:.1f}")
    print(f"overlay, verified before for that (overlay key, owner): {overlay_hits:,.0f}/s, "
          f"ratio {overlay_hits / baseline:.1f}")


if __name__ == "__main__":
    main()
