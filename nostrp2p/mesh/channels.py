"""Follower channels: one dissemination tree per author, made of routing hops (Scribe over our
XOR routing; docs/PROTOCOL.md "Channels", docs/SCALING.md for the costs).

A server that wants an author's posts *subscribes* to the author's channel: it sends JOIN to the
contact of its routing table nearest the author's route id (strictly nearer than itself, so a
join always moves toward the author and cannot loop), and that server takes it as a child. A
server that was not in the channel yet becomes a *forwarder* and joins onward the same way,
until a join reaches a server already in the tree or the author's own server, the *root* (found
by the routing table or, when no contact is nearer, by the locator: the server the author's
owner key is bound to). Each server keeps at most CHANNEL_CHILDREN_MAX children per channel; a
join past that is sent up to its parent (a routed join) or down to the child with the most room
(REDIRECT), so the root sends a bounded number of copies of each post however many followers it
has. A forwarder that does not follow the author hands its children up to its own parent, and
leaves the tree where the parent takes them all: a level less for everyone below. A member with
room invites its grandchildren up (they take that only from the grandparent their path names),
so within each subtree a level fills before the next, wherever the routes brought the joins in.

Posts go down the tree numbered by the root (epoch, seq). Every member keeps the last
CHANNEL_LOG_POSTS; a member that sees a gap pulls the missing posts from its parent, and what
the parent does not hold from the root directly. A tree neighbour's liveness is any datagram of
the pair's session (the links keep when the last came); a child sends its parent a HEARTBEAT
only when it has news (its children changed), has heard nothing from it for
CHANNEL_HEARTBEAT_IDLE, has a newer session with it than its last word (it may have restarted),
or has not been confirmed as its child for CHANNEL_CONFIRM_INTERVAL. The STATE answer says
whether it is still a child and where each channel stands, so a parent that forgot it or a lost
last post is seen, and a parent that stops answering is left for another. A parent that is also
an active neighbour is noticed sooner through the link keepalives (``peer_lost``), and a crashed child is
noticed by its parent at the first post it leaves unacknowledged (CHANNEL_FORWARD_TIMEOUT): the
parent warns the child's children (CHECK; children report theirs in heartbeats), which ask
their parent and join the warner if it is silent. Paths to the root (ACCEPT, STATE) keep a
member from joining its own subtree. Forwarders pass posts on and deliver upward only the
channels they subscribed to: they carry, they do not store.

Trust: posts are signed events (the node verifies them), so a forwarder can withhold but not
forge them; their numbering is signed by the root (xeddsa.py), so it cannot renumber them to
hide a gap either; a follower that cannot fill a gap from its parent asks the root.
"""

from __future__ import annotations

import collections

from nostrp2p.mesh import channel_messages as cm, limits, wire, xeddsa
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.messages import KIND_CHANNEL
from nostrp2p.mesh.routing import route_id


class Member:
    """A tree neighbour as a channel message made it known: its overlay key, the owner it is
    believed to serve, and the address its session has (a (host, port), or the relay path of a
    session made through a relay), which is where channel messages to it go."""

    __slots__ = ("overlay_key", "owner", "address")

    def __init__(self, overlay_key: bytes, owner: bytes, address):
        self.overlay_key = overlay_key
        self.owner = owner
        self.address = address


class Channel:
    __slots__ = ("author", "target", "subscribed", "parent", "joining", "tried", "join_timer",
                 "children", "epoch", "last_seq", "log", "floor", "parent_heard", "pulling",
                 "caught_up", "retry_timer", "retry_delay", "pushed", "grandchildren",
                 "gap_retry", "gap_delay",
                 "reported", "unacked", "probing", "prefer", "path", "resume",
                 "proofs", "root_key", "root_kept", "locating", "asked",
                 "unchecked", "handed", "invited", "shapes", "shape_reported", "moving", "moved",
                 "root_away")

    def __init__(self, author: bytes):
        self.author = author
        self.target = route_id(author)
        self.subscribed = False
        self.parent: Descriptor | Member | None = None
        self.joining: Descriptor | Member | None = None  # the candidate asked, while we wait
        self.tried: set[bytes] = set()  # candidates that failed us since the last success
        self.join_timer = None
        self.retry_timer = None
        self.retry_delay = limits.CHANNEL_REJOIN_DELAY
        self.children: dict[bytes, list] = {}  # overlay key -> [descriptor, last heard]
        self.epoch = 0  # 0: not known yet
        self.last_seq = 0
        self.log: collections.OrderedDict[int, bytes] = collections.OrderedDict()  # seq -> payload
        self.floor = 0  # sequences at or below this are old news (delivered or given up)
        self.parent_heard = 0.0
        self.pulling: dict[int, float] = {}  # seq -> when asked (of the parent; then the root)
        self.caught_up = False  # the join catch-up was asked for
        self.resume = None  # (epoch, seq) of the last post we held before a restart, if known
        self.proofs: dict[int, bytes] = {}  # seq -> the root's signature of the logged post
        self.root_key = None  # the root's overlay key, as the locator or the root itself said
        # root_key is the one we had before a restart, not yet confirmed since (``subscribe``)
        self.root_kept = False
        self.locating = False
        self.asked = set()  # servers asked for the posts being pulled (reset when none are)
        # Posts given up as unfillable are asked for again at gap_retry (None: none given up),
        # after gap_delay, which doubles while they stay unfilled (the root may be away long).
        self.gap_retry = None
        self.gap_delay = limits.CHANNEL_GAP_RETRY
        # Posts that came before the root's key was known: [(sender, POST, when)], checked and
        # taken in order once it is (``_root_known``), never taken on trust.
        self.unchecked: list = []
        # child -> (joins pushed to it since its last report, when the last was)
        self.pushed: dict[bytes, tuple[int, float]] = {}
        # Repair (docs/PROTOCOL.md "Channels", "Repair"): each child's own children as it last
        # reported them, whom we warn (CHECK) when that child stops acknowledging posts.
        self.grandchildren: dict[bytes, tuple] = {}
        self.reported = None  # our children's keys as our parent acknowledged them (None: never)
        self.unacked: dict[bytes, float] = {}  # child -> when the oldest unacknowledged post went
        self.probing = None  # when we began checking our parent after a warning
        # The first candidate when we next seek a parent: the server that warned us that our
        # parent went quiet, or the parent we had when this server last stopped.
        self.prefer = None
        self.path: tuple = ()  # overlay keys from our parent up to the root, as last told
        self.handed: set[bytes] = set()  # children told to join our parent (a forwarder's)
        self.invited: dict[bytes, float] = {}  # grandchild -> when we last invited it up
        # Levelling (docs/PROTOCOL.md): each child's subtree as it last reported it, ours as our
        # parent acknowledged it, whether we are on a move an ancestor asked of us (we take the
        # new parent only if it is higher), and the deep members we moved lately (when).
        self.shapes: dict[bytes, cm.Shape] = {}
        self.shape_reported: cm.Shape | None = None
        self.moving = False
        self.moved: dict[bytes, float] = {}
        # Our parent was the root and we lost it: we wait for it to come back, with our
        # subtree, and join nobody else (docs/PROTOCOL.md "Repair", "A root away").
        self.root_away = False

    def in_tree(self, own_owner: bytes) -> bool:
        return self.parent is not None or self.author == own_owner


class Channels:
    def __init__(self, node, router, sender):
        self.node = node  # the core: identity, rng, timers, counters, sending
        self.router = router
        self.sender = sender  # arq.Sender: every channel message is a reliable unicast
        self.own = node.identity.owner_key
        self.own_key = node.identity.public_key
        self.channels: dict[bytes, Channel] = {}
        self.child_channels = collections.Counter()  # overlay key -> channels it is our child in
        self.on_post = None  # (author, payload, epoch, seq, now) for subscribed channels
        self.on_joined = None  # (author, now): a channel we follow has a new parent (parent_of)
        self.on_children = None  # (now): our own channel's children, or theirs, changed
        # Our own channel's children before this server last stopped, as kept beside the key
        # (``restore_children``): child key -> (descriptor, the children it reported). Called
        # back when we start (``_call_back``); each is forgotten when it joins us again (its
        # children then taken for its, until it reports its own) or once it is given up.
        self.former: dict[bytes, tuple] = {}
        # Every post held in any channel's log, oldest first, with its size: the logs of all
        # channels together hold at most CHANNEL_LOGS_BYTES.
        self.logged: collections.OrderedDict[tuple, int] = collections.OrderedDict()
        self.log_bytes = 0
        self.unchecked_bytes = 0  # payload bytes of the posts waiting for their root's key
        self.epoch = 0
        self._next_seq = 0
        self.started = False
        # Keeps our own posts across restarts (root_log.RootLog: ``kept`` before each is sent);
        # None: in memory only (a restart starts a new numbering).
        self.root_log = None

    # --- what the core and the service call --------------------------------------------------
    def restore(self, epoch: int, last_seq: int, posts) -> None:
        """Before ``start``: our own channel as the root log kept it (root_log.py), so that a
        restarted root goes on with its numbering (followers' positions stay valid) and answers
        pulls of the posts it made before. ``epoch`` 0: nothing kept, a new numbering."""
        if not epoch:
            return
        self.epoch, self._next_seq = epoch, last_seq
        own = self._channel(self.own, 0.0)
        for seq, payload, proof in posts:
            self._keep(own, seq, payload, proof)

    def restore_children(self, children) -> None:
        """Before ``start``: our own channel's children as they stood when this server last
        stopped (``own_children``), each with the children it reported. A restarted root has
        lost them; at ``start`` it tells each where the channel stands: one that waits for us
        joins at once, and the children of one that does not answer are warned, as if it had
        failed us then (docs/PROTOCOL.md "A root back from a restart")."""
        self.former = {desc.overlay_key: (desc, tuple(grandchildren))
                       for desc, grandchildren in list(children)[:limits.CHANNEL_CHILDREN_MAX]
                       if desc.overlay_key != self.own_key}

    def own_children(self) -> list:
        """Our own channel's children [(descriptor, the descriptors of its children as it
        reported them)], to keep across a restart (``restore_children``). A child reached only
        through a relay, with no address to give, is left out."""
        channel = self.channels.get(self.own)
        out = []
        for key, (member, _) in (channel.children.items() if channel is not None else ()):
            desc = self._descriptor_of(member)
            if desc is not None and desc.port:
                out.append((desc.unbound(), tuple(channel.grandchildren.get(key, ()))))
        return out

    def start(self, now: float) -> None:
        self.started = True
        self.epoch = self.epoch or max(1, int(now * 1000))
        own = self._channel(self.own, now)
        own.epoch, own.last_seq, own.root_key = self.epoch, self._next_seq, self.own_key
        for desc, grandchildren in list(self.former.values()):
            self._call_back(own, desc, grandchildren, now)
        for channel in list(self.channels.values()):
            if channel.subscribed and not channel.in_tree(self.own):
                self._find_root(channel, now)
                self._seek_parent(channel, now)
        self.node.timers.call_at(now + limits.CHANNEL_HEARTBEAT_INTERVAL, self._heartbeat)

    def subscribe(self, author: bytes, now: float, since: tuple | None = None,
                  parent: Descriptor | None = None, root: bytes | None = None) -> None:
        """Deliver ``author``'s posts upward (``on_post``) from now on: join its tree, and pull
        its recent posts once joined: those after ``since`` (the (epoch, seq) of the last post
        held, as ``on_post`` gave it: a server back from downtime) up to CHANNEL_CATCH_UP_MAX,
        else the last CHANNEL_CATCH_UP_POSTS. ``parent``: our parent in this tree when we
        stopped (``parent_of``), asked first: it most likely still has our place, which our
        route may not lead back to (docs/SCALING.md "A returning server asks its old parent
        first"); not there or not answering, the join goes by the route as any other. ``root``:
        the root's key as we had it (``root_of``): posts are checked against it at once, with no
        lookup; the first that fails makes us look the root up (it may have moved server)."""
        if author == self.own:
            return
        channel = self.channels.get(author)
        if channel is None:
            if len(self.channels) >= limits.MAX_CHANNELS:
                self.node.count("drop_channel_table_full")
                return
            channel = self._channel(author, now)
        if channel.subscribed:
            return
        channel.subscribed = True
        channel.caught_up = False
        channel.resume = since
        if parent is not None and channel.parent is None and parent.overlay_key != self.own_key:
            channel.prefer = parent
        if root is not None and channel.root_key is None:
            channel.root_key, channel.root_kept = root, True
        self._find_root(channel, now)
        if channel.parent is not None:
            # We forwarded this channel already: what we carried is now ours too.
            for seq, payload in list(channel.log.items())[-limits.CHANNEL_CATCH_UP_POSTS:]:
                self._deliver(channel, seq, payload, now)
            self._catch_up(channel, now)
        elif self.started and channel.joining is None:
            self._seek_parent(channel, now)

    def position(self, author: bytes) -> tuple | None:
        """(epoch, seq) of ``author``'s channel such that every post up to seq was delivered or
        given up: what to name as ``since`` when subscribing again after a restart."""
        channel = self.channels.get(author)
        if channel is None or not channel.subscribed or channel.epoch == 0:
            return None
        seq = channel.floor
        while seq < channel.last_seq and seq + 1 in channel.log:
            seq += 1
        return channel.epoch, seq

    def parent_of(self, author: bytes) -> Descriptor | None:
        """Our parent in a channel we follow, where it can be reached again (kept across
        restarts beside the channel positions: ``subscribe``'s ``parent``); None when we have
        none, or know it only as the server that invited us (no address of its own)."""
        channel = self.channels.get(author)
        if channel is None or not channel.subscribed or channel.parent is None:
            return None
        desc = self._descriptor_of(channel.parent)
        if desc is None or not desc.port or desc.host == "0.0.0.0" or \
                not isinstance(desc.owner, bytes):
            return None
        return desc.unbound()

    def root_of(self, author: bytes) -> bytes | None:
        """The root's overlay key in a channel we follow, as we know it (None: not yet), to
        keep across restarts beside the positions (``subscribe``'s ``root``)."""
        channel = self.channels.get(author)
        if channel is None or not channel.subscribed:
            return None
        return channel.root_key

    def unsubscribe(self, author: bytes, now: float) -> None:
        channel = self.channels.get(author)
        if channel is None or not channel.subscribed:
            return
        channel.subscribed = False
        self._maybe_leave(channel, now)

    def subscriptions(self) -> set:
        return {a for a, c in self.channels.items() if c.subscribed}

    def publish(self, payload: bytes, now: float) -> tuple[int, int]:
        """Send a post of our own owner down our own tree; its (epoch, seq)."""
        if len(payload) > limits.MAX_CHANNEL_PAYLOAD:
            raise ValueError(f"a post of {len(payload)} bytes is over MAX_CHANNEL_PAYLOAD")
        channel = self._channel(self.own, now)
        self._next_seq += 1
        seq = self._next_seq
        channel.last_seq = seq
        proof = xeddsa.sign(self.node.identity.private_key,
                            cm.numbering(self.own, self.epoch, seq, payload))
        self._keep(channel, seq, payload, proof)
        if self.root_log is not None:  # on disk before it goes out
            self.root_log.kept(self.epoch, seq, payload, proof, lambda: [
                (s, p, channel.proofs[s]) for s, p in channel.log.items()])
        self.node.count("channel_published")
        message = cm.encode(cm.Post(self.own, self.epoch, seq, False, payload, proof))
        for desc, _ in list(channel.children.values()):
            self._send_to_child(channel, desc, message, now)
        return self.epoch, seq

    def _call_back(self, channel, desc, grandchildren, now):
        """We are back from a restart: a child we had before it is told it is no longer our
        child (a STATE, as to a heartbeat from a child we do not have). Alive, it waits for us
        (root_away), or has not found out yet that we were gone, and joins us now
        (``_on_state``), not at its next try or heartbeat, bringing the children we kept for it
        (``_former_child_back``); not acknowledged within two CHANNEL_FORWARD_TIMEOUTs (a new
        session's handshake, then the STATE: two round trips), it is taken for gone and its
        children are warned, who else would wait for a parent that is not there until their
        heartbeat finds it out (CHANNEL_PARENT_TIMEOUT): nobody else knows them. A STATE, not
        our next post: that may come much later, and goes to CHANNEL_CHILDREN_MAX children at
        most, which newcomers may have filled by then."""
        self.node.count("channel_former_child_called")
        answered = []
        self._send(desc, cm.State(((self.own, False, channel.epoch, channel.last_seq, None),)),
                   now, acked=lambda now: answered.append(now))

        def overdue(now):
            if desc.overlay_key not in self.former:  # it joined us again
                return
            if answered:  # alive: it may join yet; its children wait on it, not on us
                self.node.timers.call_at(now + limits.CHANNEL_PARENT_TIMEOUT,
                                         lambda now: self.former.pop(desc.overlay_key, None))
                return
            del self.former[desc.overlay_key]
            if self.channels.get(channel.author) is channel:
                self.node.count("channel_former_child_silent")
                self._warn_children_of(channel, desc.overlay_key, grandchildren, now)

        self.node.timers.call_at(now + 2 * limits.CHANNEL_FORWARD_TIMEOUT, overdue)

    def _former_child_back(self, channel, sender, height, now):
        """A child we called back (``_call_back``) joined our own channel again. Until its first
        heartbeat reports its children, the ones it had before we stopped are taken for its:
        should it fail us before that report, they are the ones warned, who would otherwise wait
        for a parent that is not there until their heartbeat found it out. Back with no subtree
        (it restarted too), it has lost them, and they are warned now."""
        _, grandchildren = self.former.pop(sender.overlay_key)
        if not height:
            self._warn_children_of(channel, sender.overlay_key, grandchildren, now)
        elif grandchildren and sender.overlay_key not in channel.grandchildren:
            channel.grandchildren[sender.overlay_key] = grandchildren

    def peer_lost(self, overlay_key: bytes, now: float) -> None:
        """The links gave up on a server (keepalives): it is no parent or child of ours now."""
        for channel in list(self.channels.values()):
            if channel.parent is not None and channel.parent.overlay_key == overlay_key:
                self._parent_lost(channel, now)
            elif overlay_key in channel.children:
                self._drop_child(channel, overlay_key, now, lost=True)

    # --- joining -----------------------------------------------------------------------------
    def _channel(self, author: bytes, now: float) -> Channel:
        channel = self.channels.get(author)
        if channel is None:
            channel = self.channels[author] = Channel(author)
        return channel

    def _candidates(self, channel: Channel) -> list[Descriptor]:
        """Routing contacts nearer the author than we are, nearest first (the author's server
        first of all when the table holds it). A contact claiming the author's key is taken as
        the root only as the claims allow (docs/PROTOCOL.md "Owner bindings": not when that key
        is bound to another server); the locator answers the same way."""
        own_distance = route_id(self.own) ^ channel.target
        claims, now = self.node.claims, self.node.last_now
        out = []
        for desc in self.router.table.closest(channel.target, limits.ROUTING_BUCKET_SIZE * 2,
                                              exclude=channel.tried):
            if desc.owner == channel.author:
                if claims.accepts(desc.overlay_key, desc.owner, now):
                    out.append(desc)
            elif route_id(desc.owner) ^ channel.target < own_distance:
                out.append(desc)
        return out

    def _seek_parent(self, channel: Channel, now: float) -> None:
        if channel.author == self.own or channel.joining is not None or not self.node.running:
            return
        if channel.root_away:
            self._rejoin_root(channel, now)
            return
        prefer, channel.prefer = channel.prefer, None
        if prefer is not None and prefer.overlay_key not in channel.tried:
            # Our grandparent warned us and our parent did not answer: it is in the tree and
            # has the posts we missed, so it is the quickest way back.
            self._join(channel, prefer, 0, now)
            return
        candidates = self._candidates(channel)
        if candidates:
            self._join(channel, candidates[0], 0, now)
            return
        # No contact nearer than us: the locator finds the author's (bound) server itself.
        self.node.count("channel_join_located")
        self._join_located_root(channel, now)

    def _join_located_root(self, channel, now):
        """Join the author's (bound) server as the locator finds it; not found, or tried and
        failed already: try again later."""
        def located(desc, now):
            if self.channels.get(channel.author) is not channel or channel.parent is not None \
                    or channel.joining is not None:
                return
            if desc is None or desc.overlay_key in channel.tried:
                self._retry_later(channel, now)
            else:
                self._join(channel, desc, 0, now)

        self.router.locate(channel.author, now, located)

    def _rejoin_root(self, channel, now):
        """Our parent was the root, and it is lost: we join it again (found by the locator), and
        nobody else. Every other member of the tree hangs below the root too, so while it is
        away a parent elsewhere brings no post, and joining one by our route would hang our
        whole subtree below another root child's: the tree came out of the root's absence with
        its top levels stacked into chains (docs/SCALING.md "Tree depth: the root's absence").
        Once a try has failed, the next waits (doubling up to CHANNEL_REJOIN_DELAY_MAX)."""
        if channel.retry_timer is not None:
            return  # waiting for the next try already
        if channel.tried:  # a try failed since we lost it
            self._retry_later(channel, now)
            return
        self.node.count("channel_root_rejoin")
        self._join_located_root(channel, now)

    def _retry_later(self, channel, now):
        channel.tried.clear()
        if channel.retry_timer is not None:
            return
        self.node.count("channel_join_postponed")

        def again(now):
            channel.retry_timer = None
            if self.channels.get(channel.author) is channel and channel.parent is None and \
                    self._wanted(channel):
                self._seek_parent(channel, now)

        channel.retry_timer = self.node.timers.call_at(now + channel.retry_delay, again)
        channel.retry_delay = min(limits.CHANNEL_REJOIN_DELAY_MAX, 2 * channel.retry_delay)

    def _join(self, channel, desc, redirects, now):
        channel.joining = desc
        self.node.count("channel_join_sent")
        height = self._shape(channel).height if channel.children else 0
        self._send(desc, cm.Join(channel.author, redirects, height), now,
                   failed=lambda now: self._join_failed(channel, desc, now))
        if channel.join_timer is not None:
            channel.join_timer.cancel()
        channel.join_timer = self.node.timers.call_at(
            now + limits.CHANNEL_JOIN_TIMEOUT, lambda now: self._join_failed(channel, desc, now))

    def _join_failed(self, channel, desc, now):
        if channel.joining is None or channel.joining.overlay_key != desc.overlay_key:
            return
        self.node.count("channel_join_failed")
        channel.joining = None
        channel.tried.add(desc.overlay_key)
        self._join_elsewhere(channel, now)

    def _join_elsewhere(self, channel, now):
        """A join failed: the next candidate, unless we were only moving up (we have a parent,
        and stay with it)."""
        if channel.parent is None:
            self._seek_parent(channel, now)
        else:
            channel.moving = False

    def _wanted(self, channel) -> bool:
        return channel.subscribed or bool(channel.children) or channel.author == self.own

    def _cycle(self, path) -> bool:
        """Whether a path to the root passes through us (or is longer than any tree's)."""
        if self.own_key in path or len(path) >= limits.CHANNEL_PATH_MAX:
            self.node.count("channel_cycle_refused")
            return True
        return False

    def _parent_lost(self, channel, now):
        lost = channel.parent
        channel.parent = None
        channel.path = ()
        # The root itself is lost: we wait for it (tried again at once, as it may only have
        # restarted and forgotten us) rather than hang below another member.
        channel.root_away = lost is not None and lost.overlay_key == channel.root_key
        if lost is not None and not channel.root_away:
            channel.tried.add(lost.overlay_key)
        self.node.count("channel_parent_lost")
        if self._wanted(channel):
            self._seek_parent(channel, now)
        else:
            self._forget(channel)

    def _maybe_leave(self, channel, now):
        if self._wanted(channel):
            return
        if channel.parent is not None:
            self._send(channel.parent, cm.Leave(channel.author), now)
        self._forget(channel)

    def _forget(self, channel):
        for timer in (channel.join_timer, channel.retry_timer):
            if timer is not None:
                timer.cancel()
        for overlay_key in channel.children:
            self._uncount_child(overlay_key)
        channel.grandchildren.clear()
        self._clear_log(channel)
        self._release_unchecked(channel)
        self.channels.pop(channel.author, None)

    # --- receiving -----------------------------------------------------------------------------
    def received(self, peer, payload: bytes, now: float) -> None:
        """A KIND_CHANNEL unicast from ``peer`` (its overlay key authenticated by its session, or
        vouched for by the relay that carried it)."""
        try:
            message = cm.decode(payload)
        except wire.MalformedFrame:
            self.node.count("drop_malformed_channel")
            return
        # The owner it is believed to serve: its claim, unless that owner is bound to another
        # server (then nobody's), so that only the author's bound server counts as the root.
        sender = Member(peer.overlay_key, self.node.believed_owner(peer), peer.address)
        handler = getattr(self, "_on_" + type(message).__name__.lower())
        handler(sender, message, now)

    def _on_join(self, sender, message, now):
        author = message.author
        channel = self.channels.get(author)
        if channel is None:
            if len(self.channels) >= limits.MAX_CHANNELS:
                self.node.count("channel_join_refused_full")
                self._send(sender, cm.Refuse(author), now)
                return
            channel = self._channel(author, now)
        if sender.overlay_key in channel.children:
            if not message.height and channel.grandchildren.get(sender.overlay_key):
                # It comes back with no subtree where it had children: it restarted (its old
                # parent is the first it asks), and knows them no more, while they may still
                # take it for their parent and wait for posts from it. Warned as if it had been
                # lost, they ask it, hear they are not its children, and join us.
                self._warn_children_of(channel, sender.overlay_key,
                                       channel.grandchildren.pop(sender.overlay_key), now)
                channel.shapes.pop(sender.overlay_key, None)
            channel.children[sender.overlay_key] = [sender, now]
            self._send(sender, cm.Accept(author, channel.epoch, channel.last_seq, channel.path), now)
            return
        if (channel.parent is not None and channel.parent.overlay_key == sender.overlay_key) or \
                sender.owner == author or \
                self.child_channels[sender.overlay_key] >= limits.CHANNELS_PER_CHILD:
            self.node.count("channel_join_refused")
            self._send(sender, cm.Refuse(author), now)
            if not self._wanted(channel):
                self._forget(channel)
            return
        if len(channel.children) >= limits.CHANNEL_CHILDREN_MAX:
            if message.redirects >= limits.CHANNEL_MAX_REDIRECTS:
                self.node.count("channel_join_refused")
                self._send(sender, cm.Refuse(author), now)
                return
            if message.redirects == 0 and channel.parent is not None:
                # A join that came by its route, to a full server: it goes to our parent first,
                # which takes it or pushes it down to the child of its with the most room,
                # which may be a level above ours.
                to = self._descriptor_of(channel.parent)
                if to is not None:
                    self.node.count("channel_join_pushed_up")
                    self._send(sender, cm.Redirect(author, to, message.redirects + 1), now)
                    return
            if not self._make_room(channel, message.height, now):
                # Scribe's bottleneck remover, at join time: the joiner goes one level down, to
                # the child with the nearest room, then the fewest children (as they reported
                # them, and the joins pushed to it since), so that a level fills before the
                # next one starts.
                below = self._push_target(channel, now)
                self._note_push(channel, below.overlay_key, now)
                self.node.count("channel_join_pushed_down")
                to = self._descriptor_of(below)
                if to is None:  # reached through a relay and not in our table: no address to give
                    self.node.count("channel_join_refused")
                    self._send(sender, cm.Refuse(author), now)
                    return
                self._send(sender, cm.Redirect(author, to, message.redirects + 1), now)
                return
        if message.height:  # its subtree, until its first heartbeat tells the rest
            channel.shapes[sender.overlay_key] = cm.Shape(message.height, 0, None)
        channel.children[sender.overlay_key] = [sender, now]
        self.child_channels[sender.overlay_key] += 1
        self.node.count("channel_child_added")
        if author == self.own and sender.overlay_key in self.former:
            self._former_child_back(channel, sender, message.height, now)
        self._children_changed(channel, now)
        self._send(sender, cm.Accept(author, channel.epoch, channel.last_seq, channel.path), now)
        self._find_root(channel, now)  # a forwarder checks proofs too, before it pulls for others
        if not channel.in_tree(self.own):
            self._seek_parent(channel, now)  # a forwarder now: the join goes on toward the root

    def _push_target(self, channel, now, besides=None):
        """The child a join pushed down goes to (None if ``besides`` is our only child)."""
        children = [c for k, c in channel.children.items() if k != besides]
        if not children:
            return None
        slow = now - limits.CHANNEL_FORWARD_TIMEOUT / 2  # not below one that may be gone
        answering = [c for c in children if channel.unacked.get(c[0].overlay_key, now) > slow]
        return min(answering or children,
                   key=lambda c: self._room_below(channel, c[0].overlay_key))[0]

    def _make_room(self, channel, height, now) -> bool:
        """We are full and a joiner brings a subtree ``height`` levels tall, taller than one of
        our children's: that child goes one level down instead (a REDIRECT with redirects 1
        naming the sibling a join would be pushed to: it joins there, and we drop it now), and
        the joiner takes its place. So where joins race for room, as at a root back from a
        crash, where followers coming back reach it before its old children do, what sinks a
        level is a leaf or a short branch, not a whole subtree (docs/PROTOCOL.md "Making
        room"). A child whose subtree we have not heard of counts as a leaf, unless it joined
        saying otherwise."""
        if not height:
            return False
        key = min(channel.children, key=lambda k: (self._child_shape(channel, k).height,
                                                   len(channel.grandchildren.get(k, ()))))
        if self._child_shape(channel, key).height >= height:
            return False
        below = self._push_target(channel, now, besides=key)
        to = self._descriptor_of(below) if below is not None else None
        if to is None:
            return False
        self._note_push(channel, below.overlay_key, now)
        self.node.count("channel_child_displaced")
        self._send(channel.children[key][0], cm.Redirect(channel.author, to, 1), now)
        self._drop_child(channel, key, now)
        return True

    def _answered_join(self, channel, sender) -> bool:
        if channel is None or channel.joining is None or \
                channel.joining.overlay_key != sender.overlay_key:
            self.node.count("drop_unasked_channel_answer")
            return False
        channel.joining = None
        if channel.join_timer is not None:
            channel.join_timer.cancel()
            channel.join_timer = None
        return True

    def _on_accept(self, sender, message, now):
        channel = self.channels.get(message.author)
        if not self._answered_join(channel, sender):
            return
        path = (sender.overlay_key, *message.path)
        if sender.overlay_key in channel.children or self._cycle(path):  # it is below us
            self._send(sender, cm.Leave(channel.author), now)
            channel.tried.add(sender.overlay_key)
            self._join_elsewhere(channel, now)
            return
        if channel.parent is not None and channel.parent.overlay_key != sender.overlay_key:
            if channel.moving and len(path) >= len(channel.path):
                # An ancestor moved us toward room that was taken meanwhile, and the join was
                # pushed down to where we are no higher than before: we stay where we were.
                channel.moving = False
                self.node.count("channel_move_declined")
                self._send(sender, cm.Leave(channel.author), now)
                return
            self._send(channel.parent, cm.Leave(channel.author), now)  # we moved up
            self.node.count("channel_moved_up")
        channel.moving = False
        channel.root_away = False
        channel.parent = sender
        channel.handed.clear()
        channel.parent_heard = now
        channel.reported = None  # the new parent learns our children at the next heartbeat
        channel.shape_reported = None  # and our subtree's shape
        channel.tried.clear()
        channel.retry_delay = limits.CHANNEL_REJOIN_DELAY
        self.node.count("channel_joined")
        if sender.owner == channel.author:
            self._root_known(channel, sender.overlay_key, now)
        self._learn(channel, message.epoch, message.last_seq, now)
        self._set_path(channel, path, now)
        if channel.subscribed and self.on_joined is not None:
            self.on_joined(channel.author, now)

    def _on_redirect(self, sender, message, now):
        channel = self.channels.get(message.author)
        to = message.to
        if channel is not None and channel.joining is None and channel.parent is not None and \
                sender.overlay_key in channel.path[1:]:
            # An ancestor (as our path names it) moves us up: our grandparent invites us to be
            # its child (it names itself), or a full server above levels its tree (it names the
            # member where it saw room). We join there, follow that server's pushes down, and
            # leave our parent only if we come out higher than we are; else we stay.
            if to.overlay_key != self.own_key and to.overlay_key not in channel.children:
                channel.moving = True
                self._join(channel, sender if to.overlay_key == sender.overlay_key else to, 1, now)
            return
        if channel is not None and channel.joining is None and channel.parent is not None and \
                channel.parent.overlay_key == sender.overlay_key:
            usable = to.overlay_key != self.own_key and to.overlay_key not in channel.children
            if message.redirects:
                # Our parent made room for a taller subtree than ours and dropped us: we join
                # the sibling it names, to be pushed down from there (else as if it were lost).
                self.node.count("channel_displaced")
                if not usable:
                    self._parent_lost(channel, now)
                    return
                channel.parent, channel.path = None, ()
                self._join(channel, to, message.redirects, now)
            elif usable:
                # Our parent, a forwarder that does not follow the author, hands us up to its
                # own parent: we join it, and stay where we are until it takes us.
                self._join(channel, to, 0, now)
            return
        if not self._answered_join(channel, sender):
            return
        if to.overlay_key == self.own_key or to.overlay_key in channel.children:
            channel.tried.add(sender.overlay_key)
            self._join_elsewhere(channel, now)
            return
        if channel.parent is not None and not channel.moving:
            return  # moving up, and it has no room: we stay
        self._join(channel, to, message.redirects, now)

    def _on_refuse(self, sender, message, now):
        channel = self.channels.get(message.author)
        if not self._answered_join(channel, sender):
            return
        channel.tried.add(sender.overlay_key)
        self._join_elsewhere(channel, now)

    def _on_leave(self, sender, message, now):
        channel = self.channels.get(message.author)
        if channel is None:
            return
        if sender.overlay_key in channel.children:
            # On a session newer than its last word as our child, it restarted: it leaves
            # because it forgot the channel (a POST of ours reached it), and its children,
            # whom it knows no more, are warned as for a child lost.
            restarted = self._heard(sender.overlay_key, channel.children[sender.overlay_key][1])[1]
            self._drop_child(channel, sender.overlay_key, now, lost=restarted)
        elif channel.parent is not None and channel.parent.overlay_key == sender.overlay_key:
            self._parent_lost(channel, now)  # it dropped us (a cycle, or it is leaving)

    def _descriptor_of(self, member) -> Descriptor | None:
        """How to name ``member`` to another server (in a REDIRECT)."""
        if isinstance(member, Descriptor):
            return member
        if isinstance(member.address, tuple):
            host, port = member.address
            return Descriptor(member.overlay_key, member.owner, str(host), int(port))
        return self.router.table.descriptor_of(member.overlay_key)

    def _drop_child(self, channel, overlay_key, now, lost=False):
        """``lost``: it failed us (not a LEAVE): its children are warned to check on it."""
        if channel.children.pop(overlay_key, None) is not None:
            self._uncount_child(overlay_key)
            self.node.count("channel_child_dropped")
        channel.unacked.pop(overlay_key, None)
        grandchildren = channel.grandchildren.pop(overlay_key, ())
        channel.pushed.pop(overlay_key, None)
        channel.shapes.pop(overlay_key, None)
        if lost:
            self._warn_children_of(channel, overlay_key, grandchildren, now)
        self._children_changed(channel, now)
        self._maybe_leave(channel, now)

    def _children_changed(self, channel, now):
        """Our own channel's children (or what they reported of theirs) changed: kept across a
        restart by whoever keeps the rest (``own_children``)."""
        if channel.author == self.own and self.on_children is not None:
            self.on_children(now)

    def _warn_children_of(self, channel, overlay_key, grandchildren, now):
        """CHECK to the children a child of ours reported: it failed us, or came back without
        them; each asks it, and joins us if it does not answer as their parent."""
        for desc in grandchildren:
            self._send(desc, cm.Check(channel.author, overlay_key, channel.epoch,
                                      channel.last_seq), now)
        if grandchildren:
            self.node.count("channel_child_lost_warned")

    def _uncount_child(self, overlay_key):
        self.child_channels[overlay_key] -= 1
        if self.child_channels[overlay_key] <= 0:
            del self.child_channels[overlay_key]

    # --- posts ---------------------------------------------------------------------------------
    def _on_post(self, sender, message, now):
        self.node.stats["channel_post_bytes_received"] += len(message.payload)
        channel = self.channels.get(message.author)
        from_parent = channel is not None and channel.parent is not None and \
            channel.parent.overlay_key == sender.overlay_key
        from_root = sender.owner == message.author
        asked = message.repair and channel is not None and message.seq in channel.pulling
        if not (from_parent or message.repair or (channel is not None and channel.joining is not None
                                                  and channel.joining.overlay_key == sender.overlay_key)):
            # It takes us for its child and we are not (we moved on; or we restarted and
            # forgot the channel): it drops us at once instead of sending us every post.
            self._send(sender, cm.Leave(message.author), now)
        if channel is None or message.author == self.own or not (from_parent or from_root or asked):
            self.node.count("drop_unasked_channel_post")
            return
        if from_root:
            self._root_known(channel, sender.overlay_key, now)
        if from_parent:
            channel.parent_heard = now  # it still has us as its child
        if channel.root_key is None:
            self._hold(channel, sender, message, now)
            return
        self._checked_post(channel, sender, message, now)

    def _checked_post(self, channel, sender, message, now):
        """A post, its root's key known: taken if the root numbered it so."""
        if not xeddsa.verify(channel.root_key, cm.numbering(message.author, message.epoch,
                                                            message.seq, message.payload),
                             message.proof):
            if channel.root_kept:
                # The key we had before a restart, not the root's now (its owner moved to
                # another server): the root is looked up, and the post waits for its key.
                self.node.count("channel_root_key_outdated")
                channel.root_key, channel.root_kept = None, False
                self._hold(channel, sender, message, now)
                return
            self._bad_proof(channel, sender, now)
            return
        if message.epoch < channel.epoch:
            if channel.log:  # we hold a checked post of the newer numbering: this one is old
                self.node.count("channel_post_old_epoch")
                return
            # The newer epoch was only claimed (ACCEPT and STATE are not signed) and no post of
            # it has come: the root's own proof of this one outweighs the claim.
            self.node.count("channel_epoch_unproven")
            channel.epoch, channel.caught_up = 0, False
        catch_up = False
        if message.epoch > channel.epoch:
            first = channel.epoch == 0
            channel.epoch, channel.last_seq, channel.floor = message.epoch, 0, 0
            self._clear_log(channel)
            channel.pulling.clear()
            if first:
                # The first post we see: a forwarder owes nothing before it, a follower the
                # catch-up's worth. (Not first: a restarted root's new numbering, all owed.)
                channel.floor = message.seq - 1
                catch_up = channel.subscribed and not channel.caught_up
        seq = message.seq
        if seq <= channel.floor or seq in channel.log:
            self.node.count("channel_post_duplicate")
            return
        channel.pulling.pop(seq, None)
        if not channel.pulling:
            channel.asked.clear()
        self._keep(channel, seq, message.payload, message.proof)
        previous = channel.last_seq
        channel.last_seq = max(channel.last_seq, seq)
        out = cm.encode(cm.Post(channel.author, channel.epoch, seq, message.repair, message.payload,
                                message.proof))
        for desc, _ in list(channel.children.values()):
            if desc.overlay_key != sender.overlay_key:
                self._send_to_child(channel, desc, out, now)
        if channel.subscribed:
            self._deliver(channel, seq, message.payload, now)
        if catch_up:
            self._catch_up(channel, now)
        elif seq > previous + 1 or (message.repair and not channel.pulling):
            self._pull_missing(channel, now)  # a gap; or the next page of a catch-up

    def _find_root(self, channel, now):
        """Learn the root's overlay key from the locator (the author's bound server, as a pull
        from the root finds it), to check the posts' proofs against: once per subscription."""
        if channel.root_key is not None or channel.locating or not self.started or \
                channel.author == self.own:
            return
        channel.locating = True

        def located(desc, now):
            if desc is not None:
                channel.locating = False
                if channel.root_key is None:
                    self._root_known(channel, desc.overlay_key, now)
                return
            # Not found (the root is away): posts waiting for the key wait a while longer,
            # and the root is asked for again meanwhile.
            self._expire_unchecked(channel, now)
            if not channel.unchecked or self.channels.get(channel.author) is not channel:
                channel.locating = False
                return

            def again(now):
                channel.locating = False
                if self.channels.get(channel.author) is channel:
                    self._find_root(channel, now)

            self.node.timers.call_at(now + limits.CHANNEL_ROOT_LOCATE_RETRY, again)

        self.router.locate(channel.author, now, located)

    def _root_known(self, channel, key, now):
        """The root's overlay key, as the locator or the root itself says: from now on posts are
        checked against it, those that waited for it first, in the order they came."""
        first = channel.root_key is None
        channel.root_key, channel.root_kept = key, False
        if not first or not channel.unchecked:
            return
        waiting = list(channel.unchecked)
        self._release_unchecked(channel)
        for sender, message, _ in waiting:
            if self.channels.get(channel.author) is not channel:
                break  # left meanwhile (a bad proof made us leave a parent we no longer need)
            self._checked_post(channel, sender, message, now)

    def _hold(self, channel, sender, message, now):
        """The root's key is not known yet (the locator has not answered; the root is away), so
        the post's numbering cannot be checked: it waits for the key, within bounds, rather than
        being taken on trust (a parent could otherwise renumber posts, or claim a new epoch
        that makes us drop the root's real posts as old)."""
        size = len(message.payload)
        self._expire_unchecked(channel, now)
        if len(channel.unchecked) >= limits.CHANNEL_UNCHECKED_POSTS or \
                self.unchecked_bytes + size > limits.CHANNEL_UNCHECKED_BYTES:
            self.node.count("drop_channel_post_unchecked")
            return  # a gap now, pulled again once the key is known
        channel.unchecked.append((sender, message, now))
        self.unchecked_bytes += size
        self.node.count("channel_post_held")
        self._find_root(channel, now)

    def _expire_unchecked(self, channel, now):
        while channel.unchecked and \
                now - channel.unchecked[0][2] > limits.CHANNEL_UNCHECKED_HOLD:
            self.unchecked_bytes -= len(channel.unchecked.pop(0)[1].payload)
            self.node.count("drop_channel_post_unchecked")

    def _release_unchecked(self, channel):
        for _, message, _ in channel.unchecked:
            self.unchecked_bytes -= len(message.payload)
        channel.unchecked = []

    def _bad_proof(self, channel, sender, now):
        """A post whose numbering is not the root's: renumbered or altered on the way. Its
        sender is left (a parent: we join another and pull what it hid from us there, or
        from the root)."""
        self.node.count("drop_channel_post_bad_proof")
        if channel.parent is not None and channel.parent.overlay_key == sender.overlay_key:
            self._send(sender, cm.Leave(channel.author), now)
            self._parent_lost(channel, now)

    def _deliver(self, channel, seq, payload, now):
        self.node.count("channel_delivered")
        if self.on_post is not None:
            self.on_post(channel.author, payload, channel.epoch, seq, now)

    def _keep(self, channel, seq, payload, proof):
        channel.log[seq] = payload
        channel.proofs[seq] = proof
        self.logged[(channel.author, seq)] = len(payload)
        self.log_bytes += len(payload)
        # The root keeps its own posts for a catch-up after downtime, members a repair's worth.
        held = limits.CHANNEL_CATCH_UP_MAX if channel.author == self.own else limits.CHANNEL_LOG_POSTS
        while len(channel.log) > held:
            self._evict(channel, min(channel.log))
        while self.log_bytes > limits.CHANNEL_LOGS_BYTES:
            author, oldest = next(iter(self.logged))
            self._evict(self.channels[author], oldest)

    def _evict(self, channel, seq):
        """Forget a logged post; it is old news from now on (a gap below it is given up)."""
        channel.log.pop(seq)
        channel.proofs.pop(seq, None)
        self.log_bytes -= self.logged.pop((channel.author, seq))
        channel.floor = max(channel.floor, min(channel.log) - 1 if channel.log else seq)

    def _clear_log(self, channel):
        for seq in channel.log:
            self.log_bytes -= self.logged.pop((channel.author, seq))
        channel.log.clear()
        channel.proofs.clear()

    def _send_to_child(self, channel, desc, message, now):
        self.node.count("channel_post_sent")
        key = desc.overlay_key
        channel.unacked.setdefault(key, now)

        def failed(now):
            if key in channel.children:
                self._drop_child(channel, key, now, lost=True)

        def acked(now):
            channel.unacked.pop(key, None)  # it is there
            if key not in channel.children and self.channels.get(channel.author) is channel:
                # Taken for gone meanwhile (slow, e.g. through a relay), yet alive: told at
                # once, so that it joins again now rather than when it next looks at us.
                self._send(desc, cm.Leave(channel.author), now)

        self._send_raw(desc, message, now, failed=failed, acked=acked)
        self.node.timers.call_at(now + limits.CHANNEL_FORWARD_TIMEOUT,
                                 lambda now: self._forward_overdue(channel, key, now))

    def _forward_overdue(self, channel, key, now):
        """A post we sent a child is still unacknowledged: it is taken for gone (a live child
        acknowledges within a round trip or two; if it was only slow, its late acknowledgement
        gets it a LEAVE and it joins again), and its children are warned."""
        since = channel.unacked.get(key)
        if since is not None and now - since >= limits.CHANNEL_FORWARD_TIMEOUT - 1e-9 and \
                key in channel.children and self.channels.get(channel.author) is channel:
            self.node.count("channel_child_unresponsive")
            self._drop_child(channel, key, now, lost=True)

    # --- gaps and catch-up ---------------------------------------------------------------------
    def _learn(self, channel, epoch, last_seq, now):
        """A parent said where the channel stands."""
        if epoch == 0:
            return
        if epoch > channel.epoch:
            first = channel.epoch == 0
            self._clear_log(channel)
            channel.epoch, channel.pulling = epoch, {}
            channel.floor = channel.last_seq = last_seq
            if not first:
                channel.floor = channel.last_seq = 0  # a restarted root: its new posts are owed
        if epoch == channel.epoch:
            if channel.subscribed and not channel.caught_up:
                self._catch_up(channel, now)
            if last_seq > channel.last_seq:
                channel.last_seq = last_seq
                self._pull_missing(channel, now)

    def _catch_up(self, channel, now):
        """Once per subscription: the author's recent posts (a new follow; a server back)."""
        if channel.epoch == 0:
            return
        channel.caught_up = True
        resume, channel.resume = channel.resume, None
        if resume is None:  # a new follow: the author's recent posts
            owed = channel.last_seq - limits.CHANNEL_CATCH_UP_POSTS
        elif resume[0] == channel.epoch:  # back from downtime: all that came since
            owed = resume[1]
        else:  # ... and the root restarted meanwhile: all of its new numbering
            owed = 0
        channel.floor = min(channel.floor, max(0, owed, channel.last_seq - limits.CHANNEL_CATCH_UP_MAX))
        self._pull_missing(channel, now)

    def _pull_missing(self, channel, now, source=None):
        """Pull what we miss of the channel: from ``source`` if given, else from our parent
        (what it does not hold, then from the root)."""
        if channel.author == self.own or not (channel.subscribed or channel.children):
            return
        abandoned = now - 2 * limits.CHANNEL_PULL_RETRY  # asked, never answered either way
        if channel.last_seq - limits.CHANNEL_CATCH_UP_MAX > channel.floor:
            channel.floor = channel.last_seq - limits.CHANNEL_CATCH_UP_MAX  # too far behind
        missing = []
        for s in range(channel.floor + 1, channel.last_seq + 1):
            if s not in channel.log and channel.pulling.get(s, abandoned) <= abandoned:
                missing.append(s)
                if len(missing) == limits.CHANNEL_PULL_PAGE:  # the next page when it is in
                    break
        if not missing:
            channel.gap_delay = limits.CHANNEL_GAP_RETRY  # no gap left: a new one starts afresh
            return
        for seq in missing:
            channel.pulling[seq] = now
        self.node.count("channel_pull_sent")
        target = source or channel.parent
        if target is None:
            self._pull_from_root(channel, missing, now)
            return
        self._send(target, cm.Pull(channel.author, channel.epoch, tuple(missing)), now,
                   failed=lambda now: self._pull_from_root(channel, missing, now))
        self.node.timers.call_at(now + limits.CHANNEL_PULL_RETRY,
                                 lambda now: self._pull_overdue(channel, missing, now))

    def _pull_overdue(self, channel, seqs, now):
        still = [s for s in seqs if s in channel.pulling and s not in channel.log]
        if still and self.channels.get(channel.author) is channel:
            self._pull_from_root(channel, still, now)

    def _pull_from_root(self, channel, seqs, now):
        self.node.count("channel_pull_root")

        def located(desc, now):
            if self.channels.get(channel.author) is not channel:
                self._give_up(channel, seqs, now)
            elif desc is None:  # the root is away: others in the tree may hold them
                self._pull_upward(channel, seqs, None, now)
            else:
                if channel.root_key is None:
                    self._root_known(channel, desc.overlay_key, now)
                self._send(desc, cm.Pull(channel.author, channel.epoch, tuple(seqs)), now,
                           failed=lambda now: self._pull_upward(channel, seqs, desc.overlay_key, now))

        self.router.locate(channel.author, now, located)

    def _give_up(self, channel, seqs, now, for_good=False):
        """Nobody asked holds these posts now. Unless the root itself said so (``for_good``)
        they are not forgotten: the root, back from downtime, answers them from its log, so
        they are asked for again (``_retry_gaps``)."""
        unfilled = False
        for seq in seqs:
            if channel.pulling.pop(seq, None) is not None and seq not in channel.log:
                self.node.count("channel_gap_unfilled")
                unfilled = True
        if not channel.pulling:
            channel.asked.clear()
        if unfilled and not for_good and channel.gap_retry is None:
            channel.gap_retry = now + channel.gap_delay
            channel.gap_delay = min(2 * channel.gap_delay, limits.CHANNEL_GAP_RETRY_MAX)

    def _retry_gaps(self, channel, now):
        channel.gap_retry = None
        self.node.count("channel_gap_retried")
        self._pull_missing(channel, now)

    def _on_pull(self, sender, message, now):
        channel = self.channels.get(message.author)
        if channel is None or message.epoch != channel.epoch:
            self._send(sender, cm.NotHeld(message.author, message.epoch, message.seqs), now)
            return
        missing = []
        for seq in message.seqs:
            payload = channel.log.get(seq)
            if payload is None:
                missing.append(seq)
            else:
                self.node.count("channel_pull_answered")
                self._send(sender, cm.Post(channel.author, channel.epoch, seq, True, payload,
                                           channel.proofs[seq]), now)
        if missing:
            self._send(sender, cm.NotHeld(channel.author, channel.epoch, tuple(missing)), now)

    def _on_notheld(self, sender, message, now):
        channel = self.channels.get(message.author)
        if channel is None or message.epoch != channel.epoch:
            return
        seqs = [s for s in message.seqs if s in channel.pulling]
        if not seqs:
            return
        if sender.owner == channel.author:
            self._give_up(channel, seqs, now, for_good=True)  # the root no longer holds them
            if not any(s < max(seqs) for s in channel.pulling):
                channel.floor = max(channel.floor, max(seqs))  # nor any older: not asked again
        elif sender.overlay_key in channel.asked:
            self._pull_upward(channel, seqs, sender.overlay_key, now)  # one we asked, root away
        else:
            self._pull_from_root(channel, seqs, now)

    def _pull_upward(self, channel, seqs, refused_by, now):
        """The root is away (or failed us): what we miss we ask of other servers likely to hold
        it, the ones up our path to the root, then the routing contacts nearer the author (tree
        members that have been in it longer), at most CHANNEL_PULL_ASKED of them per gap; then
        it is given up. So a post stays within reach while its root is away."""
        if refused_by is not None:
            channel.asked.add(refused_by)
        if len(channel.asked) <= limits.CHANNEL_PULL_ASKED:
            options = [self.router.table.descriptor_of(k) for k in channel.path[:-1]]
            for desc in options + self._candidates(channel):
                if desc is not None and desc.overlay_key not in channel.asked and \
                        desc.owner != channel.author:
                    key = desc.overlay_key
                    self.node.count("channel_pull_elsewhere")
                    channel.asked.add(key)
                    self._send(desc, cm.Pull(channel.author, channel.epoch, tuple(seqs)), now,
                               failed=lambda now: self._pull_upward(channel, seqs, key, now))
                    return
        self._give_up(channel, seqs, now)

    # --- heartbeats ----------------------------------------------------------------------------
    def _jittered(self) -> float:
        if len(self.channels) <= 1:
            # Only our own channel: nothing to tell anyone, and the randomness the rest of the
            # core draws from stays as it was without channels.
            return limits.CHANNEL_HEARTBEAT_INTERVAL
        return limits.CHANNEL_HEARTBEAT_INTERVAL * self.node.rng.uniform(0.8, 1.2)

    def _heartbeat(self, now):
        """Look over our parents and children. A parent is sent a HEARTBEAT only when we have
        something to tell it or have heard nothing from it for a while (limits); any datagram of
        its session shows it alive, so a parent that posts, or talks to us for another channel,
        costs no upkeep message at all."""
        if not self.node.running:
            return
        by_parent: dict[bytes, list] = {}
        for channel in list(self.channels.values()):
            if channel.parent is not None:
                heard, renewed = self._heard(channel.parent.overlay_key, channel.parent_heard)
                if now - heard > limits.CHANNEL_PARENT_TIMEOUT:
                    self._parent_lost(channel, now)
                    continue
                report = self._children_report(channel)
                shape, reshaped = self._shape_report(channel)
                group = by_parent.setdefault(channel.parent.overlay_key, [channel.parent, [], False])
                group[1].append((channel.author, channel.epoch, channel.last_seq, report,
                                 cm.path_tag(channel.path), shape))
                if report is not None or reshaped or renewed or \
                        now - heard >= limits.CHANNEL_HEARTBEAT_IDLE or \
                        now - channel.parent_heard >= limits.CHANNEL_CONFIRM_INTERVAL:
                    group[2] = True
                if not channel.subscribed and channel.children:
                    self._hand_up(channel, now)
            elif self._wanted(channel) and channel.joining is None and channel.retry_timer is None:
                self._seek_parent(channel, now)
            if channel.in_tree(self.own) and channel.grandchildren:
                if len(channel.children) < limits.CHANNEL_CHILDREN_MAX:
                    self._invite_up(channel, now)
                elif len(channel.shapes) > 1:
                    self._level(channel, now)
            if channel.gap_retry is not None and now >= channel.gap_retry:
                self._retry_gaps(channel, now)
            for overlay_key, (desc, confirmed) in list(channel.children.items()):
                if now - self._heard(overlay_key, confirmed)[0] > limits.CHANNEL_CHILD_TIMEOUT:
                    self._drop_child(channel, overlay_key, now, lost=True)
        for parent, entries, due in by_parent.values():
            if not due:
                continue
            self.node.count("channel_heartbeat_sent")
            for i in range(0, len(entries), limits.CHANNEL_HEARTBEAT_AUTHORS):
                chunk = tuple(entries[i:i + limits.CHANNEL_HEARTBEAT_AUTHORS])
                self._send(parent, cm.Heartbeat(chunk), now,
                           failed=lambda now, key=parent.overlay_key: self.peer_lost(key, now),
                           acked=lambda now, key=parent.overlay_key, chunk=chunk:
                           self._parent_alive(key, chunk, now))
        self.node.timers.call_at(now + self._jittered(), self._heartbeat)

    def _hand_up(self, channel, now):
        """We forward this channel without following its author: each of our children is told
        once to join our parent instead (REDIRECT from its parent). Where the parent has room
        it takes them and we, left without children, leave: a hop the routes made that carries
        nobody's follow is taken out of the tree, which is that much shallower. Where it has
        none, the children stay with us."""
        if channel.handed == channel.children.keys():  # most looks: every child told already
            return
        to = self._descriptor_of(channel.parent)
        if to is None:
            return
        channel.handed &= channel.children.keys()
        for overlay_key, (member, _) in list(channel.children.items()):
            if overlay_key not in channel.handed:
                channel.handed.add(overlay_key)
                self._send(member, cm.Redirect(channel.author, to, 0), now)

    def _invite_up(self, channel, now):
        """We have room in this channel: grandchildren are invited to be our children instead
        (a REDIRECT naming us, which a grandchild takes only from the server its path names as
        its grandparent), from under our child with the most children first, as many as we
        have room for. Each that comes moves up a level with its whole subtree, so within our
        subtree a level fills before the one below it, wherever the routes brought the joins
        in (docs/SCALING.md "Tree depth"). A grandchild that did not come is invited again
        after CHANNEL_INVITE_RETRY at the soonest."""
        room = limits.CHANNEL_CHILDREN_MAX - len(channel.children)
        pending = now - limits.CHANNEL_JOIN_TIMEOUT
        room -= sum(1 for key, when in channel.invited.items()
                    if when > pending and key not in channel.children)
        if room <= 0:
            return
        below = set()
        for child in sorted(channel.grandchildren,
                            key=lambda k: -len(channel.grandchildren[k])):
            for desc in channel.grandchildren[child]:
                key = desc.overlay_key
                below.add(key)
                if room <= 0 or key in channel.children or key == self.own_key or \
                        now - channel.invited.get(key, -limits.CHANNEL_INVITE_RETRY) < \
                        limits.CHANNEL_INVITE_RETRY or \
                        self.child_channels[key] >= limits.CHANNELS_PER_CHILD:
                    continue
                channel.invited[key] = now
                room -= 1
                self.node.count("channel_invite_sent")
                self._send(desc, cm.Redirect(channel.author, self._own_descriptor(), 0), now)
        for key in channel.invited.keys() - below:
            del channel.invited[key]

    def _own_descriptor(self) -> Descriptor:
        # No address: the invited server reaches us where the invitation came from.
        return Descriptor(self.own_key, self.own, "0.0.0.0", 0)

    # --- levelling: moving a deep member to room in a shallower part of the tree --------------
    def _child_shape(self, channel, overlay_key) -> cm.Shape:
        """A child's subtree as it reported it; before its first report, what its reported
        children show (a level below it, at most, and room when it has fewer than the most)."""
        shape = channel.shapes.get(overlay_key)
        if shape is not None:
            return shape
        below = channel.grandchildren.get(overlay_key, ())
        return cm.Shape(1 if below else 0, 0 if len(below) < limits.CHANNEL_CHILDREN_MAX else 1,
                        below[0] if below else None)

    def _room_below(self, channel, overlay_key) -> tuple:
        """How a join pushed down to this child would fare, lowest best: the levels down to
        room in its subtree, then its children (with the joins pushed to it since it reported
        them)."""
        count = len(channel.grandchildren.get(overlay_key, ())) + self._pushes(channel, overlay_key)
        if count < limits.CHANNEL_CHILDREN_MAX:
            return 0, count
        return max(1, self._child_shape(channel, overlay_key).room), count

    def _note_push(self, channel, overlay_key, now):
        count, _ = channel.pushed.get(overlay_key, (0, now))
        channel.pushed[overlay_key] = (count + 1, now)

    def _pushes(self, channel, overlay_key) -> int:
        """Joins pushed to this child that its reports do not count yet. Forgotten after
        CHANNEL_PUSH_MEMORY without a new one: by then a pushed joiner has come and been
        reported, or it is not coming (it declined a move it was offered, or failed)."""
        count, last = channel.pushed.get(overlay_key, (0, 0.0))
        if count and self.node.last_now - last >= limits.CHANNEL_PUSH_MEMORY:
            del channel.pushed[overlay_key]
            return 0
        return count

    def _shape(self, channel) -> cm.Shape:
        """Our subtree's shape in ``channel``, from our children's (Shape)."""
        if not channel.children:
            return cm.Shape(0, 0, None)
        height, room, deep = 0, limits.CHANNEL_PATH_MAX, None
        for overlay_key, (member, _) in channel.children.items():
            below = self._child_shape(channel, overlay_key)
            if deep is None or below.height >= height:
                deep = below.deep if below.deep is not None else member
                height = below.height
            room = min(room, below.room)
        deep = self._descriptor_of(deep)
        if len(channel.children) < limits.CHANNEL_CHILDREN_MAX:
            room = -1
        return cm.Shape(min(height + 1, limits.CHANNEL_PATH_MAX),
                        min(room + 1, limits.CHANNEL_PATH_MAX), deep)

    def _shape_report(self, channel):
        """(our shape for the heartbeat to our parent when it does not have it as it is, else
        None; whether the heartbeat is due for it: its height or room changed. A new member at
        the bottom alone waits for the next heartbeat that goes anyway.)"""
        shape = self._shape(channel)
        last = channel.shape_reported
        if last is not None and shape == last:
            return None, False
        return shape, last is None or shape[:2] != last[:2]

    def _level(self, channel, now):
        """We are full, and a child's subtree reaches CHANNEL_LEVEL_GAIN levels deeper than
        room under another child of ours: the member at its bottom (as the children reported
        it) is sent to the child above that room, to be pushed down to it (a REDIRECT naming
        that child, which a member takes only from a server its path names). It comes up that
        many levels; its old parent, left with room, takes its grandchildren up (``_invite_up``).
        One such move a look, none twice to the same member within CHANNEL_INVITE_RETRY."""
        for key, when in list(channel.moved.items()):
            if now - when >= limits.CHANNEL_INVITE_RETRY:
                del channel.moved[key]
        deep_key, deep = None, None
        for overlay_key in channel.children:
            shape = self._child_shape(channel, overlay_key)
            if deep is None or shape.height > deep.height:
                deep_key, deep = overlay_key, shape
        if deep.deep is None or deep.deep.overlay_key in channel.moved:
            return
        to_key = min((k for k in channel.children if k != deep_key),
                     key=lambda k: self._room_below(channel, k))
        # the bottom member is deep.height + 1 levels below us; it would go room + 2 below us
        if deep.height + 1 - (self._room_below(channel, to_key)[0] + 2) < limits.CHANNEL_LEVEL_GAIN:
            return
        to = self._descriptor_of(channel.children[to_key][0])
        if to is None:
            return
        channel.moved[deep.deep.overlay_key] = now
        self._note_push(channel, to_key, now)
        self.node.count("channel_level_sent")
        self._send(deep.deep, cm.Redirect(channel.author, to, 0), now)

    def _heard(self, overlay_key, confirmed):
        """(when we last heard from a tree neighbour, whether our session with it is newer than
        ``confirmed``). ``confirmed``: when it last showed us where we stand with it (a join or
        heartbeat from a child; an ACCEPT, STATE, POST or heartbeat acknowledgement from a
        parent). Any authenticated datagram of its session counts as heard (the links keep
        that time); a session newer than the last word may be with a server that restarted
        meanwhile and forgot us, so a child asks its parent again."""
        last = self.node.links.heard_from(overlay_key)
        if last is None:
            return confirmed, False
        received, made = last
        return max(confirmed, received), made > confirmed

    def _children_report(self, channel):
        """Our children in ``channel`` for the heartbeat to our parent, when it does not have
        them as they are (None when it does)."""
        if channel.reported == frozenset(channel.children):
            return None
        return tuple(d for d in (self._descriptor_of(m) for m, _ in channel.children.values())
                     if d is not None)

    def _parent_alive(self, overlay_key, entries, now):
        for author, _, _, children, _, shape in entries:
            channel = self.channels.get(author)
            if channel is not None and channel.parent is not None and \
                    channel.parent.overlay_key == overlay_key:
                channel.parent_heard = now
                if children is not None:
                    channel.reported = frozenset(d.overlay_key for d in children)
                if shape is not None:
                    channel.shape_reported = shape

    def _on_check(self, sender, message, now):
        """Our grandparent says our parent stopped acknowledging: ask the parent (a heartbeat);
        if it does not answer within CHANNEL_PROBE_TIMEOUT it is lost, and we join the warner.
        A warning alone changes nothing (anyone may send one): only the parent's silence does."""
        channel = self.channels.get(message.author)
        if channel is None or channel.parent is None or \
                channel.parent.overlay_key != message.parent or channel.probing is not None:
            self.node.count("channel_check_ignored")
            return
        self.node.count("channel_parent_checked")
        channel.probing, channel.prefer, parent = now, sender, channel.parent
        entry = ((channel.author, channel.epoch, channel.last_seq, None, cm.path_tag(channel.path),
                  None),)

        def alive(now):
            self._parent_alive(parent.overlay_key, entry, now)
            # Our parent is there but was slow to take the post (a relayed path, a loss): what
            # the warner has that we lack we pull from it at once, checked by the root's proofs.
            if channel.root_key is not None and message.epoch == channel.epoch and \
                    message.last_seq > channel.last_seq and channel.parent is parent:
                channel.last_seq = message.last_seq
                self._pull_missing(channel, now, source=sender)

        self._send(parent, cm.Heartbeat(entry), now, acked=alive)
        self.node.timers.call_at(now + limits.CHANNEL_PROBE_TIMEOUT,
                                 lambda now: self._probe_over(channel, parent, now))

    def _probe_over(self, channel, parent, now):
        asked, channel.probing = channel.probing, None
        if self.channels.get(channel.author) is not channel or channel.parent is not parent or \
                channel.parent_heard >= asked:
            channel.prefer = None  # it answered (or we moved on meanwhile)
            return
        self.node.count("channel_parent_silent")
        self._parent_lost(channel, now)

    def _on_heartbeat(self, sender, message, now):
        entries = []
        for author, epoch, last_seq, children, tag, shape in message.entries:
            channel = self.channels.get(author)
            if channel is None or sender.overlay_key not in channel.children:
                entries.append((author, False, 0, 0, None))
                continue
            channel.children[sender.overlay_key][1] = now
            if children is not None:
                channel.grandchildren[sender.overlay_key] = children
                channel.pushed.pop(sender.overlay_key, None)  # counted in its report now
                self._children_changed(channel, now)
            if shape is not None:
                channel.shapes[sender.overlay_key] = shape
            path = None
            if channel.path or channel.author == self.own:
                path = self._path_below(channel)
                if cm.path_tag(path) == tag:
                    path = None  # the child's is right
            behind = channel.epoch and (epoch != channel.epoch or last_seq < channel.last_seq)
            if behind or path is not None:
                entries.append((author, True, channel.epoch, channel.last_seq, path))
        if entries:
            self._send(sender, cm.State(tuple(entries)), now)

    def _on_state(self, sender, message, now):
        for author, member, epoch, last_seq, path in message.entries:
            channel = self.channels.get(author)
            if channel is not None and not member and channel.joining is None and \
                    channel.root_key == sender.overlay_key and (
                        channel.root_away if channel.parent is None
                        else channel.parent.overlay_key == sender.overlay_key):
                self._root_back(channel, sender, now)
                continue
            if channel is None or channel.parent is None or \
                    channel.parent.overlay_key != sender.overlay_key:
                continue
            if not member:
                self.node.count("channel_parent_forgot")
                self._parent_lost(channel, now)
                continue
            if path is not None:
                if self._cycle(path):  # our parent hangs below us: leave it and join again
                    self._send(channel.parent, cm.Leave(channel.author), now)
                    self._parent_lost(channel, now)
                    continue
                self._set_path(channel, path, now)
            channel.parent_heard = now
            self._learn(channel, epoch, last_seq, now)

    def _root_back(self, channel, root, now):
        """Our root, restarted, says we are not its child (``_call_back``, or the answer to a
        heartbeat): we wait for it, or did not know it was gone, and join it now, not at our
        next try, which may be many seconds away (CHANNEL_REJOIN_DELAY doubling), and with no
        lookup: the server we had as the root, by its key."""
        self.node.count("channel_root_called_back")
        if channel.parent is not None:
            self.node.count("channel_parent_forgot")
            channel.parent, channel.path = None, ()
        channel.root_away = True  # until it takes us: no other parent meanwhile
        if channel.retry_timer is not None:
            channel.retry_timer.cancel()
            channel.retry_timer = None
        channel.tried.clear()
        self._join(channel, root, 0, now)

    def _path_below(self, channel) -> tuple:
        """Our children's path to the root: us, then ours."""
        return (self.own_key, *channel.path)[:limits.CHANNEL_PATH_MAX]

    def _set_path(self, channel, path, now):
        """Our path to the root is now ``path``: our children are told theirs at once (STATE),
        and theirs tell their own, so paths stay right down the subtree without waiting for a
        heartbeat, and a loop formed on stale paths is found as soon as the news goes round it
        (the member that closed it reads itself in its path)."""
        path = tuple(path)
        if path == channel.path:
            return
        channel.path = path
        if not channel.children:
            return
        message = cm.State(((channel.author, True, channel.epoch, channel.last_seq,
                             self._path_below(channel)),))
        for desc, _ in list(channel.children.values()):
            self._send(desc, message, now)

    # --- sending -------------------------------------------------------------------------------
    def _send(self, desc, message, now, failed=None, acked=None):
        if not isinstance(message, cm.Post):
            self.node.count("channel_control_sent")  # joins, heartbeats, pulls (for the bench)
        self._send_raw(desc, cm.encode(message), now, failed, acked)

    def _send_raw(self, desc, payload, now, failed=None, acked=None):
        def done(error, _, now):
            if error is not None and failed is not None:
                failed(now)
            elif error is None and acked is not None:
                acked(now)

        self.sender.start(self.node.rng.randbytes(16), desc.overlay_key, desc.address,
                          KIND_CHANNEL, None, payload, now, done)
