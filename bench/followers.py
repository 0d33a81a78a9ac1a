"""Follower multicast against broadcast, in the deterministic simulator (the real core, a fake
clock): the scenario of docs/SCALING.md.

N servers, each its owner's; a follow graph with Zipf popularity (the most followed author is
followed by half the network, the median author by about 20 servers); 1% datagram loss; 10% of
the servers crash at a random time and come back 5-30 s later (state lost; a returning server
joins its follows' channels again, as its node does from its stored follow list). A post a
second, by an author drawn at random, every tenth by the most, the median or the least followed
author in turn; the same posts are sent twice, on two copies of one network: by broadcast (the
baseline) and down the authors' channels.

Printed, each against its target:
  - delivery to followers that are up at the end (catch-up included)       >= 99.9%
  - servers holding a post of an author their owner does not follow        0
  - copies the author's home sends per post (most and least followed)      <= 16
  - payload bytes received per server, followers / broadcast, median       <= 5%
  - tree depth (max over the posting authors' trees)                       <= log16 N + 2
  - delivery latency p99, followers / broadcast                            <= 3
  - channel control messages per server per minute, by follows quartile, and at two sizes

    python bench/followers.py                # N = 1,000 and 250 (minutes)
    python bench/followers.py --nodes 3000   # larger
    python bench/followers.py --small        # N = 40 and 80 (a minute; run by the test suite)
    python bench/followers.py --sizes 10000 --duration 60 --parallel --progress --cheap-dh
                                             # the issue's size (over an hour: docs/SCALING.md)
    python bench/followers.py --sizes 3000 --duration 60 --late 2
                                             # and why each delivery later than 2 s was late

Each size sets up its network once: started in the state a converged growth leaves (a
simulator-only setup from global knowledge, then a settle of the real protocol:
nostrp2p/mesh/sim/converged.py), or with --grow joins grown by real joins one after another.
The broadcast baseline runs in a forked copy of it (first, or with --parallel on the other
core), the followers run on the original. The follower channels start in the state their joins
leave once settled (simulator-only, nostrp2p/mesh/sim/converged_trees.py; then 30 s of the real
protocol), or with --trees joins (the default of --small) by every server subscribing every
follow at the same instant: the join storm, which no real network sees and which costs most of
a run at N >= 1,000 (docs/SCALING.md). Servers that crash and come back join by real joins in
both. With --cheap-dh both modes make their sessions with a SIMULATION-ONLY stand-in for X25519
(nostrp2p/mesh/sim/cheap_dh.py: the same datagrams, a fifth less CPU, no security), and say so
in what they print.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import math
import os
import pickle
import random
import resource
import statistics
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # the tree it sits in, not an installed copy

from nostrp2p import collector  # noqa: E402
from nostrp2p.mesh import limits  # noqa: E402
from nostrp2p.mesh.sim import LinkModel, cheap_dh  # noqa: E402
from nostrp2p.mesh.sim.converged import grow_converged  # noqa: E402
from nostrp2p.mesh.sim.converged_trees import build_trees  # noqa: E402
from nostrp2p.mesh.sim.followers import Followers  # noqa: E402
from late_deliveries import LateDeliveries  # noqa: E402
from overlay_sim import grow  # noqa: E402  (the broadcast benchmark grows its networks alike)

PAYLOAD_SIZE = 400  # about a signed kind 1 event of a sentence
PROGRESS = {"on": False, "began": time.perf_counter()}  # --progress: a line per phase on stderr


def progress(net, what):
    if PROGRESS["on"]:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux
        print(f"[{time.perf_counter() - PROGRESS['began']:7.0f} s, CPU {time.process_time():.0f} s, "
              f"peak {peak:.1f} GB] pid {os.getpid()}: {what}; simulated "
              f"{net.now:.0f} s, {net.datagrams_sent:,} datagrams so far", file=sys.stderr, flush=True)


def zipf_follows(nodes, rng, median_followers=20):
    """author address -> set of follower addresses. Rank r has round(N/2 * r^-s) followers, s
    chosen so that the median rank has ``median_followers``."""
    n = len(nodes)
    half = n / 2
    s = 1 - math.log(median_followers) / math.log(half) if half > median_followers else 0.5
    authors = list(nodes)
    rng.shuffle(authors)
    graph = {}
    for rank, author in enumerate(authors, start=1):
        count = max(1, min(n - 1, round(half * rank ** -s)))
        others = [a for a in nodes if a != author] if count > n // 4 else None
        if others is not None:
            graph[author] = set(rng.sample(others, count))
        else:
            chosen = set()
            while len(chosen) < count:
                pick = nodes[rng.randrange(n)]
                if pick != author:
                    chosen.add(pick)
            graph[author] = chosen
    return graph, authors


# Every POSTER_EVERY-th post is by one of the three chosen authors in turn (the copies and the
# depth printed are theirs); the others are by authors drawn at random: every author posts alike,
# however many follow it. (Every other post was a chosen author's before: the most followed
# author alone wrote a sixth of the network's posts, so the half of the servers that follow it
# received a sixth of broadcast's bytes from it at any network size, and the median ratio
# could not fall below that whatever the delivery.)
POSTER_EVERY = 10


def plan_run(nodes, authors, rng, duration, churn):
    """The churn plan and who posts when, the same for both modes. The three chosen authors do
    not crash: their posts are the ones measured (copies, depth), and an author that is down at
    its turn posts nothing (at N = 10,000 the least followed author was, at its only turn, and
    its copies were printed as 0)."""
    posters = [authors[0], authors[len(authors) // 2], authors[-1]]  # most, median, least followed
    events = []
    crashable = [address for address in nodes[1:] if address not in posters]
    for address in rng.sample(crashable, int(churn * len(nodes))):
        down = rng.uniform(5, duration - 40)
        events.append((down, "crash", address))
        events.append((down + rng.uniform(5, 30), "restart", address))
    posts = []
    for k in range(int(duration - 30)):
        author = posters[k // POSTER_EVERY % 3] if k % POSTER_EVERY == 0 else rng.choice(authors)
        posts.append((float(k), author, b"p%07d" % k + b"." * (PAYLOAD_SIZE - 8)))
    return sorted(events), posts, posters


GROW_SPACING = 0.05  # seconds between two servers joining while the network grows by joins
CONVERGED_SETTLE = 20.0  # seconds of the real protocol after a converged start
TREES_FORMING = 40.0  # seconds the trees are given to form when every follow joins at once
# After converged trees: the first heartbeats (20 s, jittered) hand forwarders' children up.
CONVERGED_TREES_SETTLE = 30.0


def setup(n, seed, loss, duration, churn, spacing=GROW_SPACING, converged=True):
    """The network and everything both modes share: the follow graph, the churn plan and the
    posts (drawn once, from one seed). ``converged``: the servers start at once in the state a
    converged growth leaves (a simulator-only setup, nostrp2p/mesh/sim/converged.py), then the
    real protocol settles; else they join one after another ``spacing`` apart, which costs the
    upkeep of every server already in for the whole growth: N x spacing seconds, so it grows as
    N squared (1,000 servers: 34 s of CPU; 2,000: 103 s, or 74 s at --grow-spacing 0.01)."""
    link = LinkModel(loss=loss)
    if converged:
        net, nodes = grow_converged(n, seed, link, settle=CONVERGED_SETTLE)
    else:
        net, nodes = grow(n, seed, link=link, spacing=spacing)
    progress(net, f"{n} servers {'started converged' if converged else 'grown by joins'}")
    rng = random.Random(seed * 7 + 1)
    graph, authors = zipf_follows(nodes, rng)
    churn_plan, posts, posters = plan_run(nodes, authors, rng, duration, churn)
    return net, nodes, graph, authors, churn_plan, posts, posters


def run_mode(mode, shared, duration, trees_converged=True, late=None):
    """``late``: seconds; the followers run then prints why each live delivery later than that
    was late (bench/late_deliveries.py)."""
    if mode != "followers":
        return measure(mode, shared, duration, None)
    # Each simulated server keeps its own channel's log across crashes, as a real one keeps it
    # beside its key (mesh/root_log.py), in a directory of this run's.
    with tempfile.TemporaryDirectory(prefix="followers-rootlogs-") as root_logs:
        return measure(mode, shared, duration, Followers(shared[0], root_logs=root_logs),
                       trees_converged, late)


def measure(mode, shared, duration, followers, trees_converged=True, late=None):
    net, nodes, graph, authors, churn_plan, posts, posters = shared
    if followers is not None:
        for author, fans in graph.items():
            owner = net.owner_of(author)
            for fan in sorted(fans):  # sorted: sets of addresses iterate by hash, per process
                followers.follows[fan].add(owner)
                if not trees_converged:
                    net.node(fan).channels.subscribe(owner, net.now)
        if trees_converged:
            counts = build_trees(net, followers.follows, random.Random(f"trees/{len(nodes)}"))
            progress(net, f"{mode}: trees started converged ({counts})")
        else:
            for address in nodes:
                net._flush(net.hosts[address])
        settle = CONVERGED_TREES_SETTLE if trees_converged else TREES_FORMING
        for second in range(0, int(settle), 10):  # the trees form, or settle
            net.run_for(10)
            progress(net, f"{mode}: trees {'settling' if trees_converged else 'forming'}, "
                          f"{second + 10} s in")
    progress(net, f"{mode}: ready to post")
    recorder = LateDeliveries(net, graph, late) if late is not None and followers is not None else None
    before = {a: net.hosts[a].stats() for a in nodes}
    start = net.now
    sent = []  # (author, payload, at, mid or None, followers up when sent, root copies before)
    plan = list(churn_plan)
    for offset, author, payload in posts:
        net.run_until(start + offset)
        if int(offset) % 10 == 0:
            progress(net, f"{mode}: posting, {offset:.0f} s in")
        while plan and plan[0][0] <= offset:
            _, action, address = plan.pop(0)
            getattr(net, action)(address)
        if not net.hosts[author].up:
            continue
        up = graph[author] & set(net.live())
        if followers is not None:
            root = net.node(author)
            copies_before = root.stats["channel_post_sent"]
            if recorder is not None:
                recorder.before_post(author, payload)
            followers.publish(author, payload)
            sent.append((author, payload, net.now, None, root.stats["channel_post_sent"] - copies_before, up))
        else:
            sent.append((author, payload, net.now, net.broadcast(author, payload), None, up))
    for offset, action, address in plan:  # servers that come back after the last post
        net.run_until(start + offset)
        getattr(net, action)(address)
    net.run_until(start + duration)
    for second in range(0, 60, 20):  # returned servers catch up
        net.run_for(20)
        progress(net, f"{mode}: catching up, {second + 20} s in")
    progress(net, f"{mode}: done")
    minutes = (net.now - start) / 60
    alive = set(net.live())
    pairs = delivered = 0
    latencies = []
    for author, payload, at, mid, _, up in sent:
        owner = net.owner_of(author)
        fans = graph[author] & alive
        pairs += len(fans)
        for fan in fans:
            if followers is not None:
                when = followers.received[fan].get((owner, payload))
            else:
                when = net.deliveries[mid].get(fan)
            if when is not None:
                delivered += 1
                if fan in up:  # latency of live delivery (not of a catch-up after downtime)
                    latencies.append(when - at)
    latencies.sort()
    received_bytes, control = {}, {}
    for address in nodes:
        stats = net.hosts[address].stats()
        old = before[address]
        if followers is not None:
            received_bytes[address] = stats["channel_post_bytes_received"] - old["channel_post_bytes_received"]
            control[address] = (stats["channel_control_sent"] - old["channel_control_sent"]) / minutes
        else:
            gossip = (stats["delivered"] - old["delivered"]) + (stats["duplicate_gossip"] - old["duplicate_gossip"])
            received_bytes[address] = gossip * PAYLOAD_SIZE
    result = {
        "mode": mode, "nodes": len(nodes), "posts": len(sent), "pairs": pairs,
        "delivery": delivered / pairs if pairs else 1.0,
        "latency_p99": latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0.0,
        "latency_median": latencies[len(latencies) // 2] if latencies else 0.0,
        # Every datagram and every new session (three X25519 on each side) a server sent or
        # made a minute, all layers together: what the mode costs the overlay beneath it.
        "datagrams": sum(net.hosts[a].stats()[k] - before[a][k] for a in nodes
                         for k in ("payload_sent", "control_sent")) / len(nodes) / minutes,
        "sessions": sum(net.hosts[a].stats()["sessions_established"]
                        - before[a]["sessions_established"] for a in nodes) / len(nodes) / minutes,
        "received_bytes": received_bytes,
        "posters": posters,
    }
    if followers is not None:
        follows_of = {a: len(followers.follows[a]) for a in nodes}
        strangers = sum(1 for a in nodes for (owner, _) in followers.received[a]
                        if owner not in followers.follows[a])
        copies = {}
        for author, _, _, _, count, _ in sent:
            copies.setdefault(author, []).append(count)
        depths = []
        for poster in posters:
            found = followers.depths(net.owner_of(poster))
            if found:
                depths.append(max(found.values()))
        levels = collections.Counter(followers.depths(net.owner_of(posters[0])).values())
        memberships = sum(len(net.node(a).channels.channels) - 1 for a in nodes if net.hosts[a].up)
        follows = sum(len(followers.follows[a]) for a in nodes if net.hosts[a].up)
        result.update(strangers=strangers, copies=copies, depth=max(depths) if depths else 0,
                      levels=[levels[d] for d in range(1, max(levels, default=0) + 1)],
                      forwarding=memberships / follows - 1 if follows else 0.0,
                      control=control, follows_of=follows_of,
                      gaps_unfilled=net.total("channel_gap_unfilled"), late=[])
        if recorder is not None:
            recorder.report(followers.received, out=result["late"].append)
    return result


def in_child(work):
    """Start ``work()`` in a forked copy of this process; returns a function that waits for it
    and gives its result (pickled across), its wall time and its CPU time. The copy starts from
    this process's state as it stands, so both modes run on the very same grown network without
    growing it twice. The result goes through a file, not a pipe: the copy leaves as soon as it
    is done and gives its memory back (2.7 GB at N = 10,000), where on a pipe it waited for the
    reader, which reads only when its own run is over."""
    out = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:  # the child: do the work, write the result, leave without any cleanup
        code = 0
        try:
            began, cpu = time.perf_counter(), time.process_time()
            data = pickle.dumps((work(), time.perf_counter() - began, time.process_time() - cpu))
        except BaseException:
            data, code = pickle.dumps(traceback.format_exc()), 1
        out.write(data)
        out.flush()
        os._exit(code)

    def result():
        _, status = os.waitpid(pid, 0)
        with out:
            out.seek(0)
            answer = pickle.loads(out.read())
        if status != 0:
            raise RuntimeError(f"the broadcast run failed:\n{answer}")
        return answer

    return result


def compare(n, seed, loss, duration, churn, parallel=False, spacing=GROW_SPACING, converged=True,
            trees_converged=True, late=None):
    began, cpu_began = time.perf_counter(), time.process_time()
    shared = setup(n, seed, loss, duration, churn, spacing, converged)
    grown, cpu_grown = time.perf_counter(), time.process_time()
    # The broadcast baseline runs in a copy of the grown network: first, or (--parallel) on the
    # other core while the followers run goes on here.
    baseline = in_child(lambda: run_mode("broadcast", shared, duration))
    if not parallel:
        base, base_wall, base_cpu = baseline()
    tree_began, tree_cpu = time.perf_counter(), time.process_time()
    tree = run_mode("followers", shared, duration, trees_converged, late)
    tree_wall, tree_cpu = time.perf_counter() - tree_began, time.process_time() - tree_cpu
    if parallel:
        base, base_wall, base_cpu = baseline()
    ratios = sorted(tree["received_bytes"][a] / base["received_bytes"][a]
                    for a in base["received_bytes"] if base["received_bytes"][a])
    graph = shared[2]
    posters = tree["posters"]
    copies = {p: max(tree["copies"].get(p, [0])) for p in posters}
    control = tree["control"]
    by_follows = sorted(control, key=lambda a: tree["follows_of"][a])
    quartiles = []
    for q in range(4):
        part = by_follows[q * len(by_follows) // 4:(q + 1) * len(by_follows) // 4]
        quartiles.append((statistics.mean(tree["follows_of"][a] for a in part),
                          statistics.mean(control[a] for a in part)))
    return {
        "nodes": n,
        "delivery": tree["delivery"], "delivery_broadcast": base["delivery"],
        "pairs": tree["pairs"], "posts": tree["posts"],
        "strangers": tree["strangers"],
        "copies_most": copies[posters[0]], "followers_most": len(graph[posters[0]]),
        "copies_least": copies[posters[2]], "followers_least": len(graph[posters[2]]),
        "received_ratio_median": ratios[len(ratios) // 2],
        "received_ratio_p90": ratios[int(0.9 * (len(ratios) - 1))],
        "depth": tree["depth"], "depth_bound": math.log(n, 16) + 2, "levels": tree["levels"],
        "latency_p99": tree["latency_p99"], "latency_p99_broadcast": base["latency_p99"],
        "latency_ratio": tree["latency_p99"] / base["latency_p99"] if base["latency_p99"] else 0.0,
        "control_mean": statistics.mean(control.values()),
        "datagrams": tree["datagrams"], "datagrams_broadcast": base["datagrams"],
        "sessions": tree["sessions"], "sessions_broadcast": base["sessions"],
        "follows_mean": statistics.mean(tree["follows_of"].values()),
        "control_by_follows": quartiles,
        "gaps_unfilled": tree["gaps_unfilled"],
        "late": tree["late"],
        "forwarding": tree["forwarding"],
        "wall": time.perf_counter() - began, "wall_grow": grown - began,
        "wall_broadcast": base_wall, "wall_followers": tree_wall,
        # CPU seconds: what the run costs whatever else the machine is doing
        "cpu_grow": cpu_grown - cpu_began, "cpu_broadcast": base_cpu, "cpu_followers": tree_cpu,
    }


def report(row):
    print(f"N = {row['nodes']}: {row['posts']} posts, {row['pairs']} (post, follower up at the end) pairs; "
          f"wall time {row['wall']:.0f} s (setting up the network {row['wall_grow']:.0f} s, then on it "
          f"broadcast {row['wall_broadcast']:.0f} s, followers {row['wall_followers']:.0f} s); CPU time "
          f"{row['cpu_grow'] + row['cpu_broadcast'] + row['cpu_followers']:.0f} s ({row['cpu_grow']:.0f} + "
          f"{row['cpu_broadcast']:.0f} + {row['cpu_followers']:.0f} s)")
    print(f"  delivery to followers: followers mode {row['delivery']:.4%} [target >= 99.9%], "
          f"broadcast {row['delivery_broadcast']:.4%}; gaps given up {row['gaps_unfilled']}")
    print(f"  posts of unfollowed authors held: {row['strangers']} [target 0]; channels forwarded "
          f"without following: {row['forwarding']:.2f} per follow")
    print(f"  copies from the author's home per post: {row['copies_most']} for {row['followers_most']} "
          f"followers, {row['copies_least']} for {row['followers_least']} [target <= {limits.CHANNEL_CHILDREN_MAX}]")
    print(f"  payload bytes received, followers / broadcast: median {row['received_ratio_median']:.2%} "
          f"[target <= 5%], p90 {row['received_ratio_p90']:.2%}")
    print(f"  tree depth {row['depth']} [target <= log16 N + 2 = {row['depth_bound']:.1f}] (the most "
          f"followed author's tree at the end, members by depth from 1: "
          f"{' / '.join(str(count) for count in row['levels'])}); "
          f"latency p99 {row['latency_p99']:.2f} s vs broadcast {row['latency_p99_broadcast']:.2f} s "
          f"= {row['latency_ratio']:.2f} x [target <= 3]")
    quartiles = ", ".join(f"{f:.0f} follows: {c:.1f}" for f, c in row["control_by_follows"])
    print(f"  channel control messages per server per minute: mean {row['control_mean']:.1f} "
          f"(mean follows {row['follows_mean']:.1f}); "
          f"by follows quartile {quartiles}")
    print(f"  all datagrams sent per server per minute: followers {row['datagrams']:.0f}, broadcast "
          f"{row['datagrams_broadcast']:.0f}; sessions made per server per minute: followers "
          f"{row['sessions']:.1f}, broadcast {row['sessions_broadcast']:.1f}")
    for line in row["late"]:
        print(line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="a quick run (the test suite's)")
    parser.add_argument("--nodes", type=int, default=1000, help="servers in the larger run")
    parser.add_argument("--duration", type=float, default=150.0, help="simulated seconds of posting")
    parser.add_argument("--sizes", help="comma-separated sizes to run instead (e.g. 1000,10000)")
    parser.add_argument("--seed", type=int, default=2100)
    parser.add_argument("--progress", action="store_true", help="a line per phase on stderr")
    parser.add_argument("--grow", choices=("converged", "joins"), default="converged",
                        help="start the servers in the state a converged growth leaves (a "
                             "simulator-only setup from global knowledge, then a settle of the "
                             "real protocol; the default), or grow the network by real joins, "
                             "one server after another (N squared)")
    parser.add_argument("--trees", choices=("converged", "joins"),
                        help="start the follower channels in the state their joins leave once "
                             "settled (a simulator-only setup from global knowledge, "
                             "nostrp2p/mesh/sim/converged_trees.py; the default), or have every "
                             "server subscribe every follow at the same instant (the join storm; "
                             "the default with --small, which the test suite runs)")
    parser.add_argument("--grow-spacing", type=float, default=GROW_SPACING,
                        help="with --grow joins: seconds between joins (not measured)")
    parser.add_argument("--parallel", action="store_true",
                        help="run the broadcast baseline on a second core, beside the followers run")
    parser.add_argument("--cheap-dh", action="store_true",
                        help="SIMULATION ONLY, NOT SECURE: sessions made with a hash of the two "
                             "public keys for X25519's products (nostrp2p/mesh/sim/cheap_dh.py): "
                             "the same datagrams and results, about a fifth less CPU")
    parser.add_argument("--late", type=float, metavar="SECONDS",
                        help="print why each live delivery later than this was late, by class "
                             "(where the follower stood in the tree at the post, and the crashes)")
    args = parser.parse_args(argv)
    PROGRESS["on"] = args.progress
    if args.small:
        sizes = (40, 80)
    elif args.sizes:
        sizes = tuple(int(size) for size in args.sizes.split(","))
    else:
        sizes = (max(60, args.nodes // 4), args.nodes)
    duration = 70.0 if args.small else args.duration
    trees = args.trees or ("joins" if args.small else "converged")
    began = time.perf_counter()
    rows = []
    if args.cheap_dh:
        print("sessions made with the SIMULATION-ONLY stand-in for X25519 (--cheap-dh): the same "
              "datagrams as with the real one; nothing here says anything of security")
    for n in sizes:
        with cheap_dh.installed() if args.cheap_dh else contextlib.nullcontext():
            row = compare(n, args.seed, 0.01, duration, 0.10, args.parallel, args.grow_spacing,
                          args.grow == "converged", trees == "converged", args.late)
        report(row)
        rows.append(row)
    small, large = rows[0], rows[-1]
    if large is not small:
        per_follow = [r["control_mean"] / r["follows_mean"] for r in (small, large)]
        print(f"control per server per follow per minute: {per_follow[0]:.2f} at N = {small['nodes']}, "
              f"{per_follow[1]:.2f} at N = {large['nodes']}: {per_follow[1] / per_follow[0]:.2f} x "
              f"[log N ratio {math.log(large['nodes']) / math.log(small['nodes']):.2f}, N ratio "
              f"{large['nodes'] / small['nodes']:.1f}]")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"total wall time {time.perf_counter() - began:.0f} s (load average at the end {load}, "
          f"{os.cpu_count()} cores)")
    return rows


if __name__ == "__main__":
    # The simulated servers run with a started server's collector thresholds (collector.py):
    # with Python's defaults the cyclic collector's full passes walk the whole heap, which is
    # all the servers' state (12 GB at N = 10,000), and took 18% of a followers run's CPU at
    # N = 1,000 (docs/SCALING.md, "The simulator's time at 10,000 servers"). Set here, for the
    # process the script is, not in main(), which the test suite calls in its own process.
    collector.set_thresholds()
    sys.exit(0 if main() else 1)
