"""Why the late deliveries of a followers run were late (``bench/followers.py --late SECONDS``).

When each post goes out, where every follower that is up stands in the author's tree: its chain
of parents up to the root, or where that chain breaks (a member with no parent: joining again,
waiting for its root, or not in the channel at all; a parent that is down). With the crashes and
restarts of the run, every live delivery later than the threshold is put in a class by what its
chain and those show; the classes are printed with their counts and their slowest cases. This
is how the latency tail at N = 3,000 was traced to roots back from a restart (docs/SCALING.md,
"The latency tail at N = 3,000: roots back from a restart").
"""

from __future__ import annotations

import collections
from typing import NamedTuple

from nostrp2p.mesh import limits

RECENT = 30.0  # seconds: a crash or restart this long before the post counts as behind it


class Break(NamedTuple):
    """Where a follower's chain of parents stopped short of the root at the post."""
    kind: str  # "joining", "waiting for its root", "no parent", "no channel", "parent down"
    member: tuple  # the member whose parent is missing (the follower itself at depth 1)


class LateDeliveries:
    """Wraps ``net.crash`` and ``net.restart`` to note when each server went down and came back;
    ``before_post`` is called just before each post goes out."""

    def __init__(self, net, graph, threshold: float):
        self.net, self.graph, self.threshold = net, graph, threshold
        self.events: dict[tuple, list] = collections.defaultdict(list)  # address -> [(when, what)]
        self.sent: dict[tuple, tuple] = {}  # (author, payload) -> (when, {follower: chain})
        for action in ("crash", "restart"):
            self._note(action)

    def _note(self, action):
        original = getattr(self.net, action)

        def noted(address):
            self.events[address].append((self.net.now, action))
            original(address)

        setattr(self.net, action, noted)

    def before_post(self, author, payload) -> None:
        net = self.net
        by_key = {host.identity.public_key: a for a, host in net.hosts.items() if host.up}
        owner = net.owner_of(author)
        chains = {}
        for follower in self.graph[author]:
            if net.hosts[follower].up:
                chains[follower] = self._chain(by_key, owner, author, follower)
        self.sent[(author, payload)] = (net.now, chains)

    def _chain(self, by_key, owner, root, member) -> list:
        chain = []
        for _ in range(limits.CHANNEL_PATH_MAX):
            channel = self.net.node(member).channels.channels.get(owner)
            if channel is None or channel.parent is None:
                kind = "no channel" if channel is None else "joining" if channel.joining else \
                    "waiting for its root" if channel.root_away else "no parent"
                return chain + [Break(kind, member)]
            parent = by_key.get(channel.parent.overlay_key)
            if parent is None:
                return chain + [Break("parent down", member)]
            chain.append(parent)
            if parent == root:
                break
            member = parent
        return chain

    def late(self, received) -> list:
        """[(latency, sent at, follower, chain)] of the live deliveries later than the threshold,
        slowest first. ``received``: follower -> {(owner, payload): when}."""
        out = []
        for (author, payload), (at, chains) in self.sent.items():
            owner = self.net.owner_of(author)
            for follower, chain in chains.items():
                when = received[follower].get((owner, payload))
                if when is not None and when - at > self.threshold:
                    out.append((when - at, at, follower, chain))
        return sorted(out, key=lambda case: -case[0])

    def classify(self, latency, at, follower, chain) -> str:
        if any(what == "crash" and at <= when <= at + latency for when, what in self.events[follower]):
            return "the follower went down before it came (a catch-up after its restart)"
        if chain and isinstance(chain[-1], Break):
            depth = len(chain)
            return f"{chain[-1].kind} at depth {depth} at the post" + \
                (" (the follower itself)" if depth == 1 else " (an ancestor)")
        ancestors = chain[:-1]  # the last is the root
        if any(self._recent(a, at, latency, "crash") for a in ancestors):
            return "chain whole at the post; an ancestor crashed around it"
        if any(self._recent(a, at, latency, "restart") for a in ancestors + [follower]):
            return "chain whole at the post; the follower or an ancestor restarted lately"
        return "chain whole at the post; no crash near it"

    def _recent(self, address, at, latency, what) -> bool:
        return any(w == what and at - RECENT <= when <= at + latency
                   for when, w in self.events[address])

    def report(self, received, out=print, examples=3) -> None:
        cases = self.late(received)
        live = sum(len(chains) for _, chains in self.sent.values())
        out(f"  late deliveries (> {self.threshold:g} s) of {live} live (post, follower) pairs: "
            f"{len(cases)}")
        classes = collections.defaultdict(list)
        for case in cases:
            classes[self.classify(*case)].append(case)
        for name, members in sorted(classes.items(), key=lambda item: -len(item[1])):
            slowest = ", ".join(f"{latency:.1f} s ({follower[0]} at {at:.0f} s)"
                                for latency, at, follower, _ in members[:examples])
            out(f"    {len(members)}: {name}; slowest {slowest}")
