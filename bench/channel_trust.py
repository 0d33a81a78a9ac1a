"""What the channel root's trust costs (docs/SCALING.md "Repair, in short"), each against a
baseline measured in the same run:

  - checking the root's proof of each post at each hop (xeddsa.verify, by every member that
    knows the root's key): CPU of a simulated tree carrying posts, with the checks against the
    same run with them stubbed out;
  - keeping the root's log on disk (root_log.py): a post appended and fsynced, against the
    file written whole at each post (what a positions-style save would cost), with the log full.

    python bench/channel_trust.py            # about a minute
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nostrp2p.mesh import limits, root_log, xeddsa  # noqa: E402
from nostrp2p.mesh.sim import LinkModel  # noqa: E402
from nostrp2p.mesh.sim.followers import Followers  # noqa: E402
from tests.mesh.helpers import grow  # noqa: E402

PAYLOAD = b"e" * 400  # about a signed kind 1 event of a sentence
POSTS = 200


def tree_cpu(checks: bool) -> tuple[float, int, int]:
    """CPU seconds for POSTS posts down a 60-server tree (40 followers); the proofs checked."""
    net, nodes = grow(60, seed=5, link=LinkModel(jitter=0.02), spacing=0.1, settle=30)
    f = Followers(net)
    author = nodes[7]
    owner = net.owner_of(author)
    for address in nodes[10:50]:
        f.follow(address, owner)
    net.run_for(30)
    verify, checked = xeddsa.verify, [0]

    def counted(*args):
        checked[0] += 1
        return verify(*args) if checks else True

    with mock.patch.object(xeddsa, "verify", counted):
        began = time.process_time()
        for k in range(POSTS):
            f.publish(author, PAYLOAD + b"%d" % k)
            net.run_for(0.5)
        net.run_for(10)
        cpu = time.process_time() - began
    delivered = sum(len(f.received[a]) for a in nodes[10:50])
    return cpu, checked[0], delivered


def verify_us() -> float:
    secret = os.urandom(32)
    from nacl.bindings import crypto_scalarmult_base
    public = crypto_scalarmult_base(secret)
    message = b"n" * 90
    signature = xeddsa.sign(secret, message)
    began = time.perf_counter()
    for _ in range(2000):
        assert xeddsa.verify(public, message, signature)
    return (time.perf_counter() - began) / 2000 * 1e6


def root_log_cost(directory: str) -> dict:
    """Per post, with the log full: wall µs, CPU µs and bytes written, appended (fsync) and
    the file written whole (fsync too)."""
    held = [(seq, PAYLOAD, b"p" * 64) for seq in range(1, limits.CHANNEL_CATCH_UP_MAX + 1)]
    out = {}
    for way, rounds in (("append", 200), ("whole", 50)):
        path = os.path.join(directory, way + ".rootlog")
        log = root_log.RootLog(path)
        seq = len(held)
        log.kept(1, seq, PAYLOAD, b"p" * 64, lambda: held)  # the first post writes it whole
        before = os.path.getsize(path)
        wall, cpu = time.perf_counter(), time.process_time()
        for _round in range(rounds):
            seq += 1
            held.append((seq, PAYLOAD, b"p" * 64))
            del held[0]
            if way == "append":
                log.kept(1, seq, PAYLOAD, b"p" * 64, lambda: held)
            else:
                log._rewrite(1, seq, held)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        # appended: the file grew by one record a post (no rewrite within 2 x the log's posts)
        size = os.path.getsize(path)
        if way == "append":
            size = (size - before) / rounds
        out[way] = (wall / rounds * 1e6, cpu / rounds * 1e6, size)
        log.close()
    return out


def main():
    us = verify_us()
    print(f"one proof check (xeddsa.verify): {us:.0f} us")
    off_cpu, _, off_delivered = tree_cpu(checks=False)
    on_cpu, checked, on_delivered = tree_cpu(checks=True)
    print(f"{POSTS} posts down a tree of 60 servers, 40 followers: {checked} proof checks "
          f"({checked / POSTS:.1f} per post), deliveries {on_delivered} (without checks "
          f"{off_delivered})")
    print(f"  CPU with the checks {on_cpu:.2f} s, without {off_cpu:.2f} s: ratio "
          f"{on_cpu / off_cpu:.2f} x; per check "
          f"{(on_cpu - off_cpu) / max(1, checked) * 1e6:.0f} us")
    with tempfile.TemporaryDirectory() as directory:
        cost = root_log_cost(directory)
    (aw, ac, ab), (ww, wc, wb) = cost["append"], cost["whole"]
    print(f"root log, {limits.CHANNEL_CATCH_UP_MAX} posts of {len(PAYLOAD)} bytes held, per post: "
          f"appended and fsynced {aw:.0f} us ({ac:.0f} us CPU, {ab:.0f} bytes written); the file "
          f"written whole {ww:.0f} us ({wc:.0f} us CPU, {wb:.0f} bytes): ratio wall "
          f"{aw / ww:.2f} x, CPU {ac / wc:.2f} x, bytes {ab / wb:.4f} x")


if __name__ == "__main__":
    main()
