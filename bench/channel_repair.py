"""How long a follower tree takes to leave a parent that crashed while nothing was posted, and
what keeping a quiet tree costs, in the deterministic simulator (the real core, 1% loss).

A parent that crashes while posts flow is found at the next post (CHANNEL_FORWARD_TIMEOUT and
CHECK, docs/PROTOCOL.md "Repair"); one that crashes in a quiet spell is found only by its
children's silence: a heartbeat after CHANNEL_HEARTBEAT_IDLE without news, unacknowledged, and
the parent lost at CHANNEL_PARENT_TIMEOUT. This measures that time: N servers, one author
followed by half of them, each trial crashing a member that has children (a random one, at a
random moment of the quiet), timing until every child of it has another parent, then bringing
it back. Printed: the times (min, median, p90, max) against the bound, and the upkeep of the
quiet tree (channel control messages per child-parent pair per minute) against the 12 of a
heartbeat every CHANNEL_HEARTBEAT_INTERVAL.

    python bench/channel_repair.py               # 150 servers, 30 crashes (a minute or two)
    python bench/channel_repair.py --nodes 300 --trials 50
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from nostrp2p.mesh import limits  # noqa: E402
from nostrp2p.mesh.sim import LinkModel  # noqa: E402
from nostrp2p.mesh.sim.followers import Followers  # noqa: E402
from overlay_sim import grow  # noqa: E402


def members(net, owner, author):
    return [a for a in net.live() if a != author
            and net.node(a).channels.channels.get(owner) is not None
            and net.node(a).channels.channels[owner].parent is not None]


def run(n, trials, seed):
    net, nodes = grow(n, seed, link=LinkModel(loss=0.01, jitter=0.02), spacing=0.05)
    rng = random.Random(seed)
    f = Followers(net)
    author = nodes[1]
    owner = net.owner_of(author)
    for address in rng.sample(nodes[2:], n // 2):
        f.follow(address, owner)
    net.run_for(60)
    by_key = {net.hosts[a].identity.public_key: a for a in nodes}
    before = net.total("channel_control_sent")
    began = net.now
    net.run_for(120)
    quiet = (net.total("channel_control_sent") - before) / len(members(net, owner, author)) / 2
    times = []
    for _ in range(trials):
        net.run_for(rng.uniform(0, limits.CHANNEL_HEARTBEAT_IDLE))  # anywhere in the quiet
        with_children = [a for a in members(net, owner, author)
                         if net.node(a).channels.channels[owner].children]
        victim = rng.choice(with_children)
        key = net.hosts[victim].identity.public_key
        orphans = [by_key[k] for k in net.node(victim).channels.channels[owner].children]
        net.crash(victim)
        crashed = net.now

        def left():
            for a in orphans:
                channel = net.node(a).channels.channels.get(owner) if net.hosts[a].up else None
                if channel is not None and channel.parent is not None and channel.parent.overlay_key == key:
                    return False
            return True

        while not left() and net.now < crashed + 120:
            net.run_for(0.1)
        times.append(net.now - crashed)
        net.restart(victim)
        net.run_for(30)
    return quiet, sorted(times), net.now - began


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=150)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2101)
    args = parser.parse_args(argv)
    quiet, times, _ = run(args.nodes, args.trials, args.seed)
    bound = limits.CHANNEL_PARENT_TIMEOUT + 1.2 * limits.CHANNEL_HEARTBEAT_INTERVAL
    print(f"N = {args.nodes}, one author followed by {args.nodes // 2}, {args.trials} crashes of a "
          f"member with children while nothing was posted (1% loss):")
    print(f"  all its children gone to another parent after: min {times[0]:.1f} s, median "
          f"{statistics.median(times):.1f} s, p90 {times[int(0.9 * (len(times) - 1))]:.1f} s, max "
          f"{times[-1]:.1f} s [bound CHANNEL_PARENT_TIMEOUT + a look = {bound:.1f} s]")
    every = 60 / limits.CHANNEL_HEARTBEAT_INTERVAL
    print(f"  quiet tree upkeep: {quiet:.2f} channel control messages per child-parent pair per "
          f"minute = {quiet / every:.2f} x a heartbeat every {limits.CHANNEL_HEARTBEAT_INTERVAL:.0f} s "
          f"({every:.0f})")
    return times


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
