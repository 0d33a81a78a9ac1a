"""Follower channels in the simulator: who follows whom (kept across crashes, as a server's
store keeps its owner's follow list), what each server received of each author, and the trees
as they stand (depth of each member below its root)."""

from __future__ import annotations

import collections
import os

from nostrp2p.mesh import root_log


class Followers:
    def __init__(self, net, root_logs: str | None = None):
        self.net = net
        # A directory: each server keeps its own channel's log there across crashes, as a node
        # keeps it beside its key (mesh/root_log.py). None: in memory only.
        self.root_logs = root_logs
        self.follows: dict[tuple, set] = collections.defaultdict(set)  # address -> owner keys
        # address -> {(author, payload): first received at}
        self.received: dict[tuple, dict] = collections.defaultdict(dict)
        # address -> {author: (epoch, seq) held with none missing before}: kept across crashes,
        # as a node keeps it (mesh/channel_positions.py), so a returning server asks for the rest
        self.held: dict[tuple, dict] = collections.defaultdict(dict)
        # address -> {author: its parent in that channel}: kept across crashes, as a node keeps
        # it beside the positions, so a returning server asks its old parent first. (A node
        # writes them within CHANNEL_POSITIONS_SAVE_INTERVAL of a change; kept here at once.)
        self.parents: dict[tuple, dict] = collections.defaultdict(dict)
        # address -> its own channel's children (with theirs), kept across crashes as a node
        # keeps them beside the positions, so a restarted root calls them back as it starts
        self.children: dict[tuple, list] = collections.defaultdict(list)
        # address -> {author: the root's key as it checked posts with}, kept as a node keeps it
        self.roots: dict[tuple, dict] = collections.defaultdict(dict)
        net.boot_hooks.append(self._booted)
        for host in net.hosts.values():
            if host.node is not None:
                self._booted(host)

    def _booted(self, host):
        address = host.address

        def post(author, payload, epoch, seq, now):
            self.received[address].setdefault((author, payload), now)
            self.held[address][author] = host.node.channels.position(author)
            self.roots[address][author] = host.node.channels.root_of(author)

        def joined(author, now):
            self.parents[address][author] = host.node.channels.parent_of(author)
            self.roots[address][author] = host.node.channels.root_of(author)

        def children(now):
            self.children[address] = host.node.channels.own_children()

        host.node.channels.on_post = post
        host.node.channels.on_joined = joined
        host.node.channels.on_children = children
        host.node.channels.restore_children(self.children[address])
        if self.root_logs is not None:
            name = host.label[0].replace("/", "_") + ".rootlog"
            root_log.attach(host.node.channels, os.path.join(self.root_logs, name),
                            info=lambda line: None, warn=lambda line: None)
        for author in sorted(self.follows[address]):  # sorted: the same run in every process
            host.node.channels.subscribe(author, self.net.now, self.held[address].get(author),
                                         self.parents[address].get(author),
                                         self.roots[address].get(author))

    def follow(self, address, author: bytes) -> None:
        self.follows[address].add(author)
        self._tell(address, "subscribe", author)

    def unfollow(self, address, author: bytes) -> None:
        self.follows[address].discard(author)
        self._tell(address, "unsubscribe", author)

    def _tell(self, address, what, author):
        host = self.net.hosts[address]
        if host.up:  # a server that is down is told when it boots (from ``follows``)
            getattr(host.node.channels, what)(author, self.net.now)
            self.net._flush(host)

    def publish(self, address, payload: bytes):
        host = self.net.hosts[address]
        sent = host.node.channels.publish(payload, self.net.now)
        self.net._flush(host)
        return sent

    def got(self, address, author: bytes, payload: bytes) -> bool:
        return (author, payload) in self.received[address]

    def depths(self, author: bytes) -> dict:
        """Address -> hops below the root, for every live member attached to ``author``'s tree
        (a member whose chain of parents does not reach the root is left out)."""
        by_key = {h.identity.public_key: a for a, h in self.net.hosts.items() if h.up}
        out = {}
        for address, host in self.net.hosts.items():
            if not host.up:
                continue
            hops, current, seen = 0, address, set()
            while True:
                channel = self.net.node(current).channels.channels.get(author)
                if channel is None or current in seen:
                    break
                if self.net.owner_of(current) == author:
                    if current != address:
                        out[address] = hops
                    break
                if channel.parent is None:
                    break
                seen.add(current)
                current = by_key.get(channel.parent.overlay_key)
                hops += 1
                if current is None:
                    break
        return out
