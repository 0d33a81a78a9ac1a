"""SIMULATOR-ONLY SETUP: follower channels started in the state their joins leave once settled,
built from global knowledge, instead of every server subscribing every follow at the same
instant.

In a real network follows accumulate over months and a server re-subscribes its follows only
when it comes back; no real network has every server subscribe every follow in the same
second. That instant, the *join storm*, is what a bench that starts its trees by subscribing
costs: about 84 datagrams and 11 new sessions per follow at 300 servers, more per follow as the
network grows, and about 4 MB per server (docs/SCALING.md, "The join storm, measured"), so a
10,000-server run cannot afford it. ``build_trees`` hands each server, before anything is
measured, what its joins would have left it:

- each follow is joined along the route a JOIN takes: from the follower to the first contact of
  its routing table nearer the author (``Channels._candidates``, the real choice), and on from
  each server that was not in the tree yet (it becomes a forwarder), until a member or the
  author's server takes it;
- a server with CHANNEL_CHILDREN_MAX children passes the join on as it would: once to its
  parent, then down to the child with the fewest children (Scribe's bottleneck remover), at
  most CHANNEL_MAX_REDIRECTS times;
- a forwarder that does not follow the author hands its children up to its parent as far as
  the parent has room, and leaves when it has none left (what its first heartbeats do);
- a member with room takes its grandchildren up as far as it has room (its invitations), top
  down, so each level is full before the one below it holds anyone;
- a member at the bottom of a tree is moved under the highest member with room while it comes
  up at least CHANNEL_LEVEL_GAIN levels (what full members above it do, ``Channels._level``),
  deepest first;
- each member then holds its parent, its children (and theirs, and the shapes of their
  subtrees, as its children would report them), its path to the root, the root's epoch and
  overlay key (which its lookup of the author would have found), and is caught up (nothing was
  posted yet);
- one session per tree edge, opened by the real handshake before the state is set.

What it does not exercise: JOIN, ACCEPT and REDIRECT of a first subscription, the lookups of
the root's key, and the REDIRECTs of a forwarder's hand-up and of a member's invitations.
Everything after it is the real protocol: posts, heartbeats, repair, catch-up; and a server that
crashes and comes back subscribes its follows again by real joins (its own, smaller storm). The
joins themselves are exercised by ``--trees joins`` in bench/followers.py, the test suite's small
followers run, and tests/mesh/; tests/mesh/test_converged_trees.py checks that the real protocol
finds nothing to change in the state installed here.
"""

from __future__ import annotations

from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.channels import Member


SESSIONS_SPREAD = 5.0  # seconds over which the tree edges' sessions are opened
SESSIONS_SETTLE = 2.0  # and then for the last handshakes to finish, before the state is set


def build_trees(net, follows: dict, rng) -> dict:
    """``follows``: follower address -> owner keys of the authors it follows. Every follow is
    joined (in a random order drawn from ``rng``, as joins land in any order); the tree edges'
    sessions are opened (each at a random moment of SESSIONS_SPREAD, as the joins would have
    made them over time, not in one burst past the handshake-load threshold); then the members'
    state is installed, as the ACCEPTs that came over those sessions would have left it. Runs
    the network SESSIONS_SPREAD + SESSIONS_SETTLE seconds. Returns counts: follows joined,
    forwarders made, redirects, sessions opened, follows left unjoined (all full)."""
    by_owner = {net.owner_of(a): a for a, h in net.hosts.items() if h.up}
    builder = _Builder(net, by_owner)
    pairs = [(fan, author) for fan in sorted(follows) for author in sorted(follows[fan])
             if net.hosts[fan].up and author in by_owner]
    rng.shuffle(pairs)
    for fan, author in pairs:
        builder.join(fan, author)
    builder.hand_up()
    builder.pull_up()
    builder.level_out()
    builder.open_sessions(rng)
    net.run_for(SESSIONS_SPREAD + SESSIONS_SETTLE)
    builder.install()
    return builder.counts


class _Builder:
    def __init__(self, net, by_owner):
        self.net = net
        self.by_owner = by_owner  # owner key -> address of its server
        # (author, address) -> [parent address or None, [child addresses]]
        self.members: dict[tuple, list] = {}
        self.subscribed: set[tuple] = set()
        self.child_channels: dict[tuple, int] = {}  # (parent, child) -> channels shared
        # (author, member) -> its grandchildren that could not come up (bounds)
        self.invited: dict[tuple, set] = {}
        self.counts = {"follows": 0, "forwarders": 0, "redirects": 0, "handed_up": 0,
                       "forwarders_left": 0, "pulled_up": 0, "levelled": 0, "sessions": 0,
                       "unjoined": 0}

    def _in_tree(self, author, address) -> bool:
        entry = self.members.get((author, address))
        return entry is not None and (entry[0] is not None or address == self.by_owner[author])

    def join(self, fan, author):
        self.counts["follows"] += 1
        self.subscribed.add((author, fan))
        root = self.by_owner[author]
        self.members.setdefault((author, root), [None, []])
        joiner = fan
        while not self._in_tree(author, joiner):
            nxt = self._next_hop(joiner, author, root)
            was_in = self._in_tree(author, nxt)
            taker = self._taker(author, nxt, joiner)
            if taker is None:  # every server it could go to is full: left to the real protocol
                self.counts["unjoined"] += 1
                return
            self.members.setdefault((author, joiner), [None, []])[0] = taker
            self.members[(author, taker)][1].append(joiner)
            self._link(taker, joiner)
            if taker != nxt:
                self.counts["redirects"] += 1
            if was_in:
                return
            # ``nxt`` was not in the tree: a forwarder now, its join goes on toward the root
            if (author, nxt) not in self.subscribed:
                self.counts["forwarders"] += 1
            joiner = nxt

    def hand_up(self):
        """A forwarder that does not follow the author hands its children up to its parent,
        which takes each it has room for (``Channels._hand_up``; a child whose new parent is
        full stays where it is); a forwarder left without children leaves. Top-down, until
        nothing moves, as the first heartbeats after the joins would leave it."""
        moved = True
        while moved:
            moved = False
            for author, address in self._top_down():
                entry = self.members.get((author, address))
                if entry is None or (author, address) in self.subscribed or entry[0] is None:
                    continue
                parent = self.members[(author, entry[0])]
                for child in list(entry[1]):
                    shared = self.child_channels.get((entry[0], child), 0)
                    if len(parent[1]) >= limits.CHANNEL_CHILDREN_MAX or \
                            shared >= limits.CHANNELS_PER_CHILD:
                        break
                    self._move(author, child, address, entry[0])
                    self.counts["handed_up"] += 1
                    moved = True
                if not entry[1]:
                    self._leave(author, address, entry[0])

    def pull_up(self):
        """A member of a tree (its root, a follower or a forwarder) with room invites its
        grandchildren up, from under its child with the most children first, while it has room
        (``Channels._invite_up``); a forwarder that does not follow the author and is left
        without children leaves. Top-down, until nothing moves, as the first heartbeats would
        leave it: each level is filled before the one below it."""
        moved = True
        while moved:
            moved = False
            for author, address in self._top_down():
                entry = self.members.get((author, address))
                if entry is None or (entry[0] is None and address != self.by_owner[author]):
                    continue
                for child in sorted(entry[1], key=lambda c: -len(self.members[(author, c)][1])):
                    below = self.members[(author, child)]
                    for grandchild in list(below[1]):
                        if len(entry[1]) >= limits.CHANNEL_CHILDREN_MAX:
                            break
                        if self.child_channels.get((address, grandchild), 0) >= \
                                limits.CHANNELS_PER_CHILD:
                            self.invited.setdefault((author, address), set()).add(grandchild)
                            continue
                        self._move(author, grandchild, child, address)
                        self.counts["pulled_up"] += 1
                        moved = True
                    if not below[1] and (author, child) not in self.subscribed:
                        self._leave(author, child, address)

    def level_out(self):
        """In each tree, the deepest member is moved under the shallowest member with room for
        it while it comes up at least CHANNEL_LEVEL_GAIN levels (``Channels._level``, which full
        members above it would do at their first looks); a forwarder that does not follow the
        author and is left without children leaves."""
        for author, root in self.by_owner.items():
            if (author, root) not in self.members:
                continue
            while self._level_one(author, root):
                self.counts["levelled"] += 1

    def _level_one(self, author, root) -> bool:
        levels = list(self._levels(author, root))
        deepest = levels[-1][0]  # the first of the bottom level
        found = next(((depth, a) for depth, level in enumerate(levels) for a in level  # top down
                      if len(self.members[(author, a)][1]) < limits.CHANNEL_CHILDREN_MAX
                      and self.child_channels.get((a, deepest), 0) < limits.CHANNELS_PER_CHILD
                      and a != deepest), None)
        if found is None:
            return False
        room_depth, room = found  # the shallowest member with room
        if len(levels) - 1 - (room_depth + 1) < limits.CHANNEL_LEVEL_GAIN:
            return False
        old = self.members[(author, deepest)][0]
        self._move(author, deepest, old, room)
        if not self.members[(author, old)][1] and (author, old) not in self.subscribed and \
                old != root:
            self._leave(author, old, self.members[(author, old)][0])
        return True

    def _move(self, author, member, old_parent, new_parent):
        """``member`` leaves ``old_parent`` for ``new_parent`` in ``author``'s tree."""
        self.members[(author, old_parent)][1].remove(member)
        self._unlink(old_parent, member)
        self.members[(author, new_parent)][1].append(member)
        self._link(new_parent, member)
        self.members[(author, member)][0] = new_parent

    def _leave(self, author, forwarder, parent):
        """A forwarder left without children leaves ``author``'s tree."""
        self.members[(author, parent)][1].remove(forwarder)
        self._unlink(parent, forwarder)
        del self.members[(author, forwarder)]
        self.counts["forwarders_left"] += 1

    def _top_down(self):
        order = []
        for author, root in self.by_owner.items():
            if (author, root) in self.members:
                for level in self._levels(author, root):
                    order.extend((author, a) for a in level)
        return order

    def _levels(self, author, root):
        """``author``'s tree level by level from its root: lists of members."""
        level = [root]
        while level:
            yield level
            level = [c for a in level for c in self.members[(author, a)][1]]

    def _link(self, parent, child):
        pair = (parent, child)
        self.child_channels[pair] = self.child_channels.get(pair, 0) + 1

    def _unlink(self, parent, child):
        self.child_channels[(parent, child)] -= 1

    def _next_hop(self, address, author, root):
        """The server ``address``'s join goes to: its nearest routing contact toward the author,
        as the real ``_candidates`` ranks them; the author's server itself when none is nearer
        (the real protocol finds it by the locator)."""
        channels = self.net.node(address).channels
        channel = channels._channel(author, self.net.now)
        candidates = channels._candidates(channel)
        if not channel.subscribed and not channel.children and channel.parent is None:
            del channels.channels[author]  # only made to ask; install() makes the real ones
        for desc in candidates:
            if desc.address in self.net.hosts and self.net.hosts[desc.address].up:
                return desc.address
        return root

    def _taker(self, author, address, joiner):
        """Who takes ``joiner`` when its join reaches ``address``: it, or (full) its parent
        once, then the child with the fewest children, as ``Channels._on_join`` passes it on."""
        redirects = 0
        at = address
        while redirects <= limits.CHANNEL_MAX_REDIRECTS:
            entry = self.members.setdefault((author, at), [None, []])
            if at == joiner or joiner in entry[1]:
                return None
            if len(entry[1]) < limits.CHANNEL_CHILDREN_MAX and \
                    self.child_channels.get((at, joiner), 0) < limits.CHANNELS_PER_CHILD:
                return at
            if redirects == 0 and entry[0] is not None:
                at = entry[0]
            elif not entry[1]:
                return None  # no room for this joiner, and no child to pass it to
            else:
                at = min(entry[1], key=lambda c: len(self.members[(author, c)][1]))
            redirects += 1
        return None

    def _edges(self) -> set:
        """Every pair of servers a tree edge joins (in any channel), once, lower address first:
        one session serves all the channels the pair shares."""
        edges = set()
        for (author, address), (parent, _) in self.members.items():
            if parent is not None:
                pair = (address, parent) if address < parent else (parent, address)
                edges.add(pair)
        return edges

    def open_sessions(self, rng):
        net = self.net
        for a, b in sorted(self._edges()):
            node = net.node(a)
            key = net.hosts[b].identity.public_key

            def ping(now, node=node, key=key, b=b):
                node.links.send(key, b, m.Ping(), now)

            node.timers.call_at(net.now + rng.uniform(0, SESSIONS_SPREAD), ping)
            self.counts["sessions"] += 1
        for host in net.hosts.values():
            if host.up:
                net._flush(host)

    def install(self):
        """Every member's channel state as its joins would have left it."""
        net, now = self.net, self.net.now
        descriptor = {}
        for address, host in net.hosts.items():
            if host.up:
                ident = host.identity
                descriptor[address] = Member(ident.public_key, ident.owner_key, address)
        for (author, address), (parent, children) in self.members.items():
            if parent is None and address != self.by_owner[author]:
                continue  # a leftover of an abandoned join
            channels = net.node(address).channels
            channel = channels._channel(author, now)
            root = net.node(self.by_owner[author]).channels
            channel.epoch, channel.last_seq = root.epoch, root._next_seq
            channel.floor = channel.last_seq
            channel.root_key = descriptor[self.by_owner[author]].overlay_key
            if (author, address) in self.subscribed:
                channel.subscribed = True
                channel.caught_up = True
            for child in children:
                key = descriptor[child].overlay_key
                channel.children[key] = [descriptor[child], self._last_word(channels, key, now)]
                channels.child_channels[key] += 1
                grandchildren = self.members[(author, child)][1]
                channel.grandchildren[key] = tuple(
                    channels._descriptor_of(descriptor[g]) for g in grandchildren)
            if parent is not None:
                channel.parent = descriptor[parent]
                channel.parent_heard = self._last_word(channels, channel.parent.overlay_key, now)
                channel.reported = frozenset(descriptor[c].overlay_key for c in children)
                channel.path = self._path(author, address, descriptor)
                if (author, address) not in self.subscribed:  # a forwarder: it told them once
                    channel.handed = {descriptor[c].overlay_key for c in children}
                elif channels.on_joined is not None:  # as the ACCEPT would have told it
                    channels.on_joined(author, now)
            elif children and channels.on_children is not None:
                channels.on_children(now)  # a root: as its children's joins would have told it
            for grandchild in self.invited.get((author, address), ()):  # asked, could not come
                channel.invited[descriptor[grandchild].overlay_key] = now
        for author, address in reversed(self._top_down()):  # bottom up: each reports its shape
            channels = net.node(address).channels
            channel = channels.channels[author]
            parent = self.members[(author, address)][0]
            if parent is not None:
                channel.shape_reported = shape = channels._shape(channel)
                net.node(parent).channels.channels[author].shapes[channels.own_key] = shape

    @staticmethod
    def _last_word(channels, overlay_key, now):
        """When a tree neighbour last confirmed us: the last datagram of the pair's session,
        as the ACCEPT (or JOIN) that would have come over it. Not ``now``: the session may
        have been quiet since the handshake, and a confirmation dated later than its last
        datagram would put the first heartbeat past the session's idle close
        (IDLE_SESSION_TIMEOUT), which it is timed to come before."""
        heard = channels.node.links.heard_from(overlay_key)
        return heard[0] if heard is not None else now

    def _path(self, author, address, descriptor):
        path = []
        parent = self.members[(author, address)][0]
        while parent is not None and len(path) < limits.CHANNEL_PATH_MAX:
            path.append(descriptor[parent].overlay_key)
            parent = self.members[(author, parent)][0]
        return tuple(path)
