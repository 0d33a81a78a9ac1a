"""Follower channels in the simulator: an author's posts reach its followers along a tree of
routing hops, never other servers' owners; the root sends a bounded number of copies; lost
parents, lost posts and downtime are repaired; joins are bounded per channel and per peer."""

from unittest import mock

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import channel_messages as cm, limits
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.messages import KIND_CHANNEL
from nostrp2p.mesh.routing import route_id
from nostrp2p.mesh.sim.followers import Followers
from tests.mesh.channel_trees import ChannelTree, settle_until
from tests.mesh.helpers import grow


class ChannelTreeTests(ChannelTree, TestCase):
    def test_posts_reach_every_follower_and_no_other_owner(self):
        for k in range(5):
            self.f.publish(self.author, b"post %d" % k)
            self.net.run_for(2)
        self.net.run_for(10)
        for k in range(5):
            self.assertTrue(self._everyone_got(b"post %d" % k), k)
        others = [a for a in self.nodes if a not in self.followers and a != self.author]
        self.assertEqual([a for a in others if self.f.received[a]], [])
        # Forwarders did carry posts (the tree is made of routing hops, not only followers).
        carried = [a for a in others if self.net.node(a).stats["channel_post_sent"]]
        self.assertTrue(carried)

    def test_the_root_sends_at_most_the_child_cap_whatever_the_followers(self):
        root = self.net.node(self.author)
        before = root.stats["channel_post_sent"]
        self.f.publish(self.author, b"counted")
        self.net.run_for(10)
        self.assertLessEqual(root.stats["channel_post_sent"] - before, limits.CHANNEL_CHILDREN_MAX)
        self.assertTrue(self._everyone_got(b"counted"))
        self.assertGreater(self.net.total("channel_join_pushed_down"), 0)
        depths = self.f.depths(self.owner)
        self.assertEqual(set(self.followers) - set(depths), set())
        self.assertLessEqual(max(depths.values()), 4)

    def test_a_crashed_forwarder_is_replaced_and_posts_keep_arriving(self):
        root = self.net.node(self.author).channels.channels[self.owner]
        by_key = {self.net.node(a).identity.public_key: a for a in self.nodes}
        # The root's child with the most below it, crashed without a word.
        victim = by_key[next(iter(root.children))]
        self.net.crash(victim)
        alive = [a for a in self.followers if a != victim]
        self.assertTrue(settle_until(
            self.net, lambda: set(alive) <= set(self.f.depths(self.owner)), limit=90))
        self.f.publish(self.author, b"after the crash")
        self.assertTrue(settle_until(self.net, lambda: self._everyone_got(b"after the crash", alive),
                                     limit=30))

    def test_the_subtree_of_a_forwarder_that_crashes_gets_the_next_post_within_seconds(self):
        # Its parent finds it out from the post it does not acknowledge and warns its children;
        # the heartbeats alone would take 8 to 14 s.
        by_key = {self.net.node(a).identity.public_key: a for a in self.nodes}
        root = self.net.node(self.author).channels.channels[self.owner]
        self.net.run_for(2 * limits.CHANNEL_HEARTBEAT_INTERVAL)  # children reported upward
        victim = next(by_key[k] for k in root.children
                      if self.net.node(by_key[k]).channels.channels[self.owner].children)
        below = [a for a, depth in self.f.depths(self.owner).items()
                 if a in self.followers and a != victim and self._has_ancestor(a, victim)]
        self.assertTrue(below)
        self.net.crash(victim)
        self.net.run_for(0.5)
        self.f.publish(self.author, b"just after the crash")
        self.net.run_for(4)
        self.assertEqual([a for a in below if not self.f.got(a, self.owner, b"just after the crash")], [])
        self.assertGreater(self.net.total("channel_parent_silent"), 0)

    def test_a_root_back_from_a_crash_has_its_tree_back_as_it_was(self):
        # While the root is away no other member has its posts to give: its children wait for
        # it with their subtrees, rather than join one another by their routes, which left the
        # tree stacked into chains of whole subtrees when it came back. And servers that reach
        # the root before them (here two new followers, at the instant it is back) each give
        # their place back to one with a taller subtree.
        depths = self.f.depths(self.owner)
        before = max(depths.values())
        on_top = {a for a, depth in depths.items() if depth == 1}
        self.net.crash(self.author)
        # Long enough for every child of the root to take it for lost.
        self.net.run_for(limits.CHANNEL_PARENT_TIMEOUT + 2 * limits.CHANNEL_HEARTBEAT_INTERVAL)
        self.net.restart(self.author)
        author = self.net.hosts[self.author].identity
        to_root = Descriptor(author.public_key, author.owner_key, *self.author)
        first = [a for a in self.nodes if a != self.author and
                 self.owner not in self.net.node(a).channels.channels][:2]
        for newcomer in first:
            self.net.node(newcomer).channels._candidates = lambda channel: [to_root]
            self.f.follow(newcomer, self.owner)
        everyone = set(self.followers) | set(first)

        def as_before():
            depths = self.f.depths(self.owner)
            return everyone <= set(depths) and max(depths.values()) <= before and \
                {a for a, depth in depths.items() if depth == 1} == on_top

        self.assertTrue(settle_until(self.net, as_before, limit=60))
        self.assertGreater(self.net.total("channel_root_rejoin"), 0)
        self.f.publish(self.author, b"back")
        self.assertTrue(settle_until(self.net, lambda: self._everyone_got(b"back", everyone),
                                     limit=30))

    def _root_down_for(self, seconds, then):
        """The author's server crashes, is back ``seconds`` later, and has run ``then`` more."""
        self.net.crash(self.author)
        self.net.run_for(seconds)
        self.net.restart(self.author)
        self.net.run_for(then)

    def test_a_root_back_from_a_restart_calls_back_the_children_waiting_for_it(self):
        # Its children take it for lost and try it again at doubling intervals: here their next
        # try is about half a minute after it is back. It tells the children it kept (beside
        # its key: here the simulator's Followers) where its channel stands as it starts, and
        # they join it at once.
        self.net.run_for(2 * limits.CHANNEL_HEARTBEAT_INTERVAL)
        self._root_down_for(60, then=0.5)
        self.f.publish(self.author, b"back")
        self.assertTrue(settle_until(self.net, lambda: self._everyone_got(b"back"), limit=3, step=0.25))
        self.net.run_for(1.5)
        self.f.publish(self.author, b"and again")
        self.assertTrue(settle_until(self.net, lambda: self._everyone_got(b"and again"),
                                     limit=3, step=0.25))
        self.assertGreater(self.net.total("channel_root_called_back"), 0)

    def test_a_root_back_within_seconds_has_its_children_back_before_they_noticed(self):
        # Down for less than anything takes to notice, it forgot them while they still take
        # it for their parent: told so as it starts, they join it again at once, rather than
        # at their next heartbeat; the post a second after its start reaches everyone.
        self.net.run_for(2 * limits.CHANNEL_HEARTBEAT_INTERVAL)
        self._root_down_for(3, then=1)
        self.f.publish(self.author, b"quickly back")
        self.assertTrue(settle_until(self.net, lambda: self._everyone_got(b"quickly back"),
                                     limit=2, step=0.25))

    def test_the_subtree_of_a_root_child_gone_while_the_root_was_away_gets_its_first_post(self):
        # Nobody else knows the gone child's children: its parent, the root, forgot them when
        # it restarted, and they would find their parent gone only when their heartbeats go
        # unanswered (CHANNEL_PARENT_TIMEOUT). The root kept them, and warns them when the
        # child it kept does not answer it as it starts.
        victim, below = self._root_child_with_children()
        self.net.crash(victim)
        self._root_down_for(8, then=0.5)
        self.f.publish(self.author, b"first after")
        self.assertTrue(settle_until(self.net, lambda: self._everyone_got(b"first after", below),
                                     limit=4, step=0.25))
        self.assertGreater(self.net.total("channel_former_child_silent"), 0)

    def test_the_subtree_of_a_called_back_child_gone_before_its_first_report_gets_the_next_post(self):
        # The child the root called back joins it again and goes down before its first
        # heartbeat has told the root its children: the root warns the children it kept for it,
        # who would otherwise wait for their heartbeat to find their parent gone
        # (CHANNEL_PARENT_TIMEOUT).
        victim, below = self._root_child_with_children()
        self._root_down_for(8, then=0)
        back = self.net.node(victim).channels.channels[self.owner]
        # Joined again (a new parent forgets what was reported to the old), not reported yet.
        self.assertTrue(settle_until(
            self.net, lambda: back.parent is not None and back.reported is None,
            limit=3, step=0.05))
        self.assertEqual(back.parent.overlay_key, self.net.node(self.author).identity.public_key)
        self.net.crash(victim)
        self.f.publish(self.author, b"after the child")
        self.assertTrue(settle_until(self.net, lambda: self._everyone_got(b"after the child", below),
                                     limit=4, step=0.25))

    def test_the_subtree_of_a_called_back_child_back_from_a_restart_of_its_own_gets_the_next_post(self):
        # Root and child restarted together: the child joins the root again with no subtree (it
        # forgot its children, who may still take it for their parent). The root warns the
        # children it kept for it, and they join elsewhere before the next post, where they
        # would otherwise find out only at their next heartbeat to it (here, unwarned, the first
        # of them had the post 8 s after it was sent, the last 14.5 s; warned, all within 4.25).
        victim, below = self._root_child_with_children()
        self.net.crash(victim)
        self._root_down_for(8, then=0)
        self.net.restart(victim)
        self.net.run_for(1)
        self.f.publish(self.author, b"after both")
        self.assertTrue(settle_until(self.net, lambda: self._everyone_got(b"after both", below),
                                     limit=6, step=0.25))

    def _root_child_with_children(self):
        """A child of the author's server with children of its own, once every child reported
        its children upward, and the followers below it."""
        self.net.run_for(2 * limits.CHANNEL_HEARTBEAT_INTERVAL)  # children reported upward
        by_key = {self.net.node(a).identity.public_key: a for a in self.nodes}
        root = self.net.node(self.author).channels.channels[self.owner]
        victim = next(by_key[k] for k in root.children
                      if self.net.node(by_key[k]).channels.channels[self.owner].children)
        below = [a for a in self.followers if a != victim and self._has_ancestor(a, victim)]
        self.assertTrue(below)
        return victim, below

    def test_a_follower_down_during_posts_gets_them_after_it_returns(self):
        away = self.followers[3]
        self.net.crash(away)
        self.f.publish(self.author, b"while away 1")
        self.net.run_for(5)
        self.f.publish(self.author, b"while away 2")
        self.net.run_for(5)
        self.net.restart(away)
        self.assertTrue(settle_until(
            self.net, lambda: self.f.got(away, self.owner, b"while away 1")
            and self.f.got(away, self.owner, b"while away 2"), limit=60))

    def test_a_returning_server_asks_its_old_parent_first_and_is_back_in_its_place(self):
        """Its route would not lead back there: its old parent is farther from the author than
        it is, so no join by the route goes to it first (it was placed there by a push down or
        a move). Kept across the crash (Followers.parents, as a node keeps it beside its
        channel positions), the old parent is asked first and takes it back, in one join."""
        def farther_parent(address):
            channel = self.net.node(address).channels.channels[self.owner]
            if channel.parent is None or channel.parent.overlay_key == channel.root_key:
                return False
            own = route_id(self.net.owner_of(address)) ^ channel.target
            return route_id(channel.parent.owner) ^ channel.target > own

        away = next(a for a in self.followers if farther_parent(a))
        parent, depth = self._parent_of(away), self.f.depths(self.owner)[away]
        self.net.crash(away)
        self.net.run_for(8)
        self.net.restart(away)
        self.assertTrue(settle_until(self.net, lambda: away in self.f.depths(self.owner),
                                     limit=10))
        self.assertEqual(self._parent_of(away), parent)
        self.assertEqual(self.f.depths(self.owner)[away], depth)
        self.assertEqual(self.net.node(away).stats["channel_join_sent"], 1)

    def _restart_leaf(self, who):
        self.net.crash(who)
        self.net.run_for(3)
        self.net.restart(who)
        self.assertTrue(settle_until(self.net, lambda: who in self.f.depths(self.owner), limit=5,
                                     step=0.05))

    def test_a_returning_server_checks_posts_with_the_root_key_it_had_and_waits_for_no_lookup(self):
        # Its parent is not the root: without the key it kept, a post would wait (held) until
        # a lookup of the author found the root, 0.4 to 2.4 s on this tree.
        leaves = [a for a in self.followers if self._parent_of(a) != self.author and
                  not self.net.node(a).channels.channels[self.owner].children][:3]
        for k, who in enumerate(leaves):
            self._restart_leaf(who)
            sent, payload = self.net.now, b"to the returned %d" % k
            self.f.publish(self.author, payload)
            self.assertTrue(settle_until(self.net, lambda: self.f.got(who, self.owner, payload),
                                         limit=5, step=0.05))
            self.assertLess(self.f.received[who][(self.owner, payload)] - sent, 0.5)
            self.assertEqual(self.net.node(who).stats["channel_post_held"], 0)

    def test_a_root_key_kept_from_before_the_authors_move_is_looked_up_again_not_blamed(self):
        # The author's owner bound another server meanwhile (here: the key kept is not its
        # root's): the first post that does not check against it makes the follower look the
        # root up, and take the post then; its parent did nothing wrong and stays its parent.
        who = next(a for a in self.followers if self._parent_of(a) != self.author and
                   not self.net.node(a).channels.channels[self.owner].children)
        self.f.roots[who][self.owner] = bytes(range(32))
        self._restart_leaf(who)
        parent = self._parent_of(who)
        self.f.publish(self.author, b"after the move")
        self.assertTrue(settle_until(self.net, lambda: self.f.got(who, self.owner, b"after the move"),
                                     limit=10, step=0.1))
        stats = self.net.node(who).stats
        self.assertEqual((stats["channel_root_key_outdated"], stats["drop_channel_post_bad_proof"]),
                         (1, 0))
        self.assertEqual(self._parent_of(who), parent)

    def test_the_children_of_a_member_back_at_its_old_parent_get_the_next_post_within_seconds(self):
        """Back within seconds, it is taken again by its old parent before anything told its
        children it was gone; it knows them no more, and they still take it for their parent.
        Its parent, seeing it come back with no subtree, warns them (CHECK)."""
        by_key = {self.net.node(a).identity.public_key: a for a in self.nodes}
        away = next(a for a in self.followers
                    if self.net.node(a).channels.channels[self.owner].children and
                    self._parent_of(a) != self.author)
        orphans = [by_key[k] for k in self.net.node(away).channels.channels[self.owner].children]
        parent = self._parent_of(away)
        self.net.crash(away)
        self.net.run_for(3)
        self.net.restart(away)
        self.assertTrue(settle_until(self.net, lambda: away in self.f.depths(self.owner), limit=5))
        self.assertEqual(self._parent_of(away), parent)
        self.f.publish(self.author, b"just after")
        self.assertTrue(settle_until(self.net, lambda: self._everyone_got(b"just after", orphans),
                                     limit=5, step=0.25))

    def test_the_children_of_a_member_back_without_the_channel_get_the_next_post_within_seconds(self):
        # It restarted no longer following the author, so it forgot the channel; it made a new
        # session with its old parent, whose next POST it answers LEAVE. Its old children still
        # take it for their parent: nothing else would tell them before their heartbeats
        # (CHANNEL_PARENT_TIMEOUT).
        by_key = {self.net.node(a).identity.public_key: a for a in self.nodes}
        self.net.run_for(2 * limits.CHANNEL_HEARTBEAT_INTERVAL)  # children reported upward
        away = next(a for a in self.followers
                    if self.net.node(a).channels.channels[self.owner].children and
                    self._parent_of(a) != self.author)
        below = [a for a in self.followers if a != away and self._has_ancestor(a, away)]
        parent = self._parent_of(away)
        self.f.follows[away].discard(self.owner)
        self.net.crash(away)
        self.net.run_for(3)
        self.net.restart(away)
        node, to = self.net.node(away), self.net.node(parent).identity.public_key
        node.unicaster.sender.start(node.rng.randbytes(16), to, parent, KIND_CHANNEL, None,
                                    cm.encode(cm.Leave(bytes(32))), self.net.now, lambda *a: None)
        self.net._flush(self.net.hosts[away])
        self.net.run_for(1)
        self.f.publish(self.author, b"after it left")
        self.assertTrue(settle_until(self.net, lambda: self._everyone_got(b"after it left", below),
                                     limit=5, step=0.25))
        stats = self.net.node(parent).stats  # told by its LEAVE, not by its silence
        self.assertEqual((stats["channel_child_lost_warned"], stats["channel_child_unresponsive"]),
                         (1, 0))

    def test_a_server_still_holding_a_session_with_a_restarted_one_reaches_it_within_seconds(self):
        """The restarted server lost the session; what comes on it is dropped there. A fresh
        handshake is made once a message has gone unanswered for REHANDSHAKE_UNANSWERED, not
        only after one message's third send, which the peer's backed-off timeout delays."""
        by_key = {self.net.node(a).identity.public_key: a for a in self.nodes}
        away = next(a for a in self.followers
                    if self.net.node(a).channels.channels[self.owner].children)
        away_key = self.net.node(away).identity.public_key
        child = next(by_key[k] for k in self.net.node(away).channels.channels[self.owner].children
                     if away_key not in self.net.node(by_key[k]).membership.active)
        self.net.crash(away)
        self.net.run_for(3)
        self.net.restart(away)
        self.net.run_for(0.5)
        node = self.net.node(child)
        self.assertIsNotNone(node.links.heard_from(away_key))  # the session it had
        done, sent = [], self.net.now
        node.unicaster.sender.start(node.rng.randbytes(16), away_key, away, KIND_CHANNEL, None,
                                    cm.encode(cm.Join(self.owner, 0)), sent,
                                    lambda error, _, now: done.append((error, now)))
        self.net._flush(self.net.hosts[child])
        self.assertTrue(settle_until(self.net, lambda: done, limit=15, step=0.1))
        error, when = done[0]
        self.assertIsNone(error)
        self.assertLessEqual(when - sent, limits.REHANDSHAKE_UNANSWERED + 2.0)

    def _withhold(self, parent, victim, pulls_too=False):
        """``parent`` stops passing posts on to ``victim`` (and, ``pulls_too``, claims to hold
        none), as a lossy or hostile forwarder would."""
        channels = self.net.node(parent).channels
        victim_key = self.net.node(victim).identity.public_key
        send_to_child, on_pull = channels._send_to_child, channels._on_pull

        def withheld(channel, desc, message, now):
            if desc.overlay_key != victim_key:
                send_to_child(channel, desc, message, now)

        def none_held(sender, message, now):
            if sender.overlay_key == victim_key:
                channels._send(sender, cm.NotHeld(message.author, message.epoch, message.seqs), now)
            else:
                on_pull(sender, message, now)

        channels._send_to_child = withheld
        if pulls_too:
            channels._on_pull = none_held

        def restore():
            channels.__dict__.pop("_send_to_child", None)
            channels.__dict__.pop("_on_pull", None)

        return restore

    def test_a_post_lost_on_the_way_is_pulled_from_the_parent(self):
        victim = next(a for a in self.followers if self._parent_of(a) != self.author)
        restore = self._withhold(self._parent_of(victim), victim)
        self.f.publish(self.author, b"lost on the way")
        self.net.run_for(0.6)
        restore()
        self.assertFalse(self.f.got(victim, self.owner, b"lost on the way"))
        self.f.publish(self.author, b"the next one")
        self.assertTrue(settle_until(
            self.net, lambda: self.f.got(victim, self.owner, b"lost on the way"), limit=30))
        self.assertEqual(self.net.node(victim).stats["channel_pull_root"], 0)

    def test_a_gap_the_parent_will_not_fill_is_pulled_from_the_root(self):
        victim = next(a for a in self.followers if self._parent_of(a) != self.author)
        self._withhold(self._parent_of(victim), victim, pulls_too=True)
        self.f.publish(self.author, b"withheld")
        self.net.run_for(3)
        self.f.publish(self.author, b"withheld too")
        self.assertTrue(settle_until(
            self.net, lambda: self.f.got(victim, self.owner, b"withheld"), limit=30))
        stats = self.net.node(victim).stats
        self.assertGreater(stats["channel_pull_root"], 0)

    def test_a_forwarder_cannot_renumber_posts_to_hide_one_it_withholds(self):
        victim = next(a for a in self.followers if self._parent_of(a) != self.author)
        hostile = self._parent_of(victim)
        self._withhold(hostile, victim, pulls_too=True)  # it holds nothing when asked, either
        channels = self.net.node(hostile).channels
        victim_key = self.net.node(victim).identity.public_key
        withheld = []

        def renumbering(channel, desc, message, now):
            # The first post after this is withheld, and each later one sent one number lower,
            # so that no gap shows.
            post = cm.decode(message)
            if desc.overlay_key != victim_key or channel.author != self.owner:
                channels._send_raw(desc, message, now)
            elif not withheld:
                withheld.append(post.seq)
            else:
                channels._send_raw(desc, cm.encode(post._replace(seq=post.seq - 1)), now)

        channels._send_to_child = renumbering
        for k in range(3):
            self.f.publish(self.author, b"renumbered %d" % k)
            self.net.run_for(2)
        self.assertTrue(settle_until(
            self.net, lambda: all(self.f.got(victim, self.owner, b"renumbered %d" % k)
                                  for k in range(3)), limit=40))
        self.assertGreater(self.net.node(victim).stats["drop_channel_post_bad_proof"], 0)

    def test_the_last_post_lost_is_seen_from_the_heartbeat(self):
        victim = self.followers[6]
        parent = self._parent_of(victim)
        restore = self._withhold(parent, victim)
        # Just after the victim's heartbeat, so that the next one is as far away as can be: it
        # comes once the victim has heard nothing from its parent for CHANNEL_HEARTBEAT_IDLE,
        # or, when it hears link keepalives from it (a parent that is also a neighbour), once
        # the parent has not confirmed it as a child for CHANNEL_CONFIRM_INTERVAL.
        children = self.net.node(parent).channels.channels[self.owner].children
        victim_key = self.net.node(victim).identity.public_key
        heard = children[victim_key][1]
        wait = limits.CHANNEL_CONFIRM_INTERVAL + 2 * limits.CHANNEL_HEARTBEAT_INTERVAL
        self.assertTrue(settle_until(self.net, lambda: children[victim_key][1] != heard,
                                     limit=wait, step=0.05))
        self.f.publish(self.author, b"nothing follows it")
        self.net.run_for(0.6)
        restore()
        self.assertFalse(self.f.got(victim, self.owner, b"nothing follows it"))
        self.assertTrue(settle_until(
            self.net, lambda: self.f.got(victim, self.owner, b"nothing follows it"),
            limit=wait + 5))

    def test_a_follower_down_while_more_than_a_log_was_posted_gets_them_all(self):
        away = self.followers[3]
        self.f.publish(self.author, b"before")
        self.assertTrue(settle_until(self.net, lambda: self.f.got(away, self.owner, b"before")))
        self.net.crash(away)
        # More than a join's catch-up and more than a forwarder's log: the older ones come
        # from the root, page by page.
        count = limits.CHANNEL_LOG_POSTS + 16
        for k in range(count):
            self.f.publish(self.author, b"while away %d" % k)
            self.net.run_for(0.5)
        self.net.restart(away)
        self.assertTrue(settle_until(
            self.net, lambda: all(self.f.got(away, self.owner, b"while away %d" % k)
                                  for k in range(count)), limit=60))
        self.assertGreater(self.net.node(away).stats["channel_pull_root"], 0)

    def test_a_new_follow_gets_the_recent_posts(self):
        for k in range(3):
            self.f.publish(self.author, b"earlier %d" % k)
            self.net.run_for(1)
        newcomer = next(a for a in self.nodes if a not in self.followers and a != self.author)
        self.f.follow(newcomer, self.owner)
        self.assertTrue(settle_until(
            self.net, lambda: all(self.f.got(newcomer, self.owner, b"earlier %d" % k)
                                  for k in range(3)), limit=60))

    def test_an_unfollow_stops_delivery_and_idle_forwarders_leave(self):
        for address in self.followers:
            self.f.unfollow(address, self.owner)
        self.net.run_for(15)
        self.f.publish(self.author, b"to nobody")
        self.net.run_for(10)
        self.assertEqual([a for a in self.followers if self.f.got(a, self.owner, b"to nobody")], [])
        root = self.net.node(self.author).channels.channels[self.owner]
        self.assertEqual(root.children, {})
        left = [a for a in self.nodes if a != self.author
                and self.owner in self.net.node(a).channels.channels]
        self.assertEqual(left, [])


class DeepChannelTreeTests(ChannelTree, TestCase):
    CHILDREN_MAX = 3  # members with grandchildren below the root's children

    def test_a_member_rejoining_below_itself_makes_no_cycle(self):
        # A member that lost its parent (not the root, which its children wait for) joins the
        # first candidate it knows; after pushes down, that can be a server of its own subtree
        # (nearer the author than it is). Accepted, it would hang the subtree in a loop that no
        # post reaches.
        member, grandchild = self._member_with_a_grandchild(below_a_root_child=True)
        channels = self.net.node(member).channels
        identity = self.net.node(grandchild).identity
        below = Descriptor(identity.public_key, identity.owner_key, *grandchild)
        candidates = channels._candidates

        def below_first(channel):
            found = [d for d in candidates(channel) if d.overlay_key != below.overlay_key]
            if channel.author == self.owner and below.overlay_key not in channel.tried:
                return [below, *found]
            return found

        channels._candidates = below_first
        channels._parent_lost(channels.channels[self.owner], self.net.now)
        self.net.run_for(30)
        self.assertGreater(self.net.total("channel_cycle_refused"), 0)
        self.f.publish(self.author, b"after the rejoin")
        self.assertTrue(settle_until(
            self.net, lambda: self._everyone_got(b"after the rejoin"), limit=30))
        self.assertLessEqual({member, grandchild} & set(self.followers),
                             set(self.f.depths(self.owner)))


class ChannelBoundsTests(TestCase):
    def setUp(self):
        self.net, self.nodes = grow(12, seed=9, spacing=0.1, settle=30)
        self.f = Followers(self.net)

    def _join_from(self, source, target, author):
        """``source`` sends a raw JOIN for ``author``'s channel to ``target``."""
        node = self.net.node(source)
        dest = self.net.node(target).identity
        contact = node.router.table.descriptor_of(dest.public_key)
        address = contact.address if contact is not None else target
        node.unicaster.sender.start(node.rng.randbytes(16), dest.public_key, address,
                                    KIND_CHANNEL, None, cm.encode(cm.Join(author, 0)),
                                    self.net.now, lambda *a: None)
        self.net._flush(self.net.hosts[source])

    def test_one_peer_cannot_make_a_server_forward_for_more_than_its_share_of_channels(self):
        attacker, victim = self.nodes[1], self.nodes[2]
        with mock.patch.object(limits, "CHANNELS_PER_CHILD", 5):
            for n in range(12):
                self._join_from(attacker, victim, bytes([n + 1]) * 32)
                self.net.run_for(0.5)
            self.net.run_for(5)
        channels = self.net.node(victim).channels
        self.assertEqual(channels.child_channels[self.net.node(attacker).identity.public_key], 5)
        self.assertEqual(self.net.node(victim).stats["channel_join_refused"], 7)

    def test_no_server_holds_more_channels_than_its_table(self):
        attacker, victim = self.nodes[1], self.nodes[2]
        with mock.patch.object(limits, "MAX_CHANNELS", 4):
            for n in range(8):
                self._join_from(attacker, victim, bytes([n + 1]) * 32)
                self.net.run_for(0.5)
            self.net.run_for(5)
            self.assertLessEqual(len(self.net.node(victim).channels.channels), 4)
        self.assertGreater(self.net.node(victim).stats["channel_join_refused_full"], 0)

    def test_malformed_channel_messages_are_counted_and_dropped(self):
        sender, victim = self.nodes[1], self.nodes[2]
        node = self.net.node(sender)
        dest = self.net.node(victim).identity
        for junk in (b"", b"\x93\x01\x02\x03", cm.encode(cm.Leave(b"x" * 32))[:-3], b"\xc1"):
            node.unicaster.sender.start(node.rng.randbytes(16), dest.public_key, victim,
                                        KIND_CHANNEL, None, junk, self.net.now, lambda *a: None)
        self.net._flush(self.net.hosts[sender])
        self.net.run_for(5)
        stats = self.net.node(victim).stats
        self.assertEqual(stats["drop_malformed_channel"], 4)
        self.assertEqual(stats["handler_failed"], 0)

    def test_a_post_from_a_server_that_is_neither_parent_nor_root_is_dropped(self):
        author, follower, stranger = self.nodes[3], self.nodes[4], self.nodes[5]
        owner = self.net.owner_of(author)
        self.f.follow(follower, owner)
        self.net.run_for(15)
        node = self.net.node(stranger)
        channel = self.net.node(follower).channels.channels[owner]
        if channel.parent.overlay_key == node.identity.public_key:
            stranger = self.nodes[6]
            node = self.net.node(stranger)
        forged = cm.encode(cm.Post(owner, channel.epoch, channel.last_seq + 1, False, b"forged",
                                   bytes(64)))
        node.unicaster.sender.start(node.rng.randbytes(16), self.net.node(follower).identity.public_key,
                                    follower, KIND_CHANNEL, None, forged, self.net.now,
                                    lambda *a: None)
        self.net._flush(self.net.hosts[stranger])
        self.net.run_for(5)
        self.assertFalse(self.f.got(follower, owner, b"forged"))
        self.assertEqual(self.net.node(follower).stats["drop_unasked_channel_post"], 1)


class ChannelLogBoundTests(TestCase):
    def test_the_logs_of_all_channels_hold_a_bounded_number_of_bytes(self):
        net, nodes = grow(6, seed=13, spacing=0.1, settle=20)
        f = Followers(net)
        follower = nodes[1]
        for author in nodes[2:]:
            f.follow(follower, net.owner_of(author))
        net.run_for(15)
        channels = net.node(follower).channels
        with mock.patch.object(limits, "CHANNEL_LOGS_BYTES", 10_000):
            for k in range(8):
                for author in nodes[2:]:
                    f.publish(author, b"%d" % k + b"." * 999)
                net.run_for(1)
            net.run_for(5)
            held = sum(len(p) for c in channels.channels.values() for p in c.log.values())
            self.assertLessEqual(held, 10_000)
            self.assertEqual(channels.log_bytes, held)
        # Every post still reached the follower (the log is for pulls, not for delivery).
        self.assertEqual(len(f.received[follower]), 8 * len(nodes[2:]))


class ChannelRootBindingTests(TestCase):
    """The root of an author's channel is its bound server, whatever an impostor claims."""

    def test_followers_join_the_bound_server_not_an_impostor_claiming_its_owner(self):
        from tests.mesh.bound_servers import add_server, network, say
        from nostrp2p.mesh import messages as m
        net, servers = network(12, seed=302, bound={5})
        author = servers[5]
        impostor = add_server(net, servers[:1], keys=author.keys)  # B's owner, not B's secret
        net.run_for(20)
        f = Followers(net)
        followers = [s for i, s in enumerate(servers) if i not in (0, 5)]
        for follower in followers:
            say(net, impostor, follower, m.Find(4242, author.owner))  # its claim, heard last
        net.run_for(1)
        for follower in followers:
            # The impostor is the only contact under the author's key in its table.
            follower.node.router.table.remove(author.overlay_key)
            f.follow(follower.address, author.owner)
        net.run_for(20)
        f.publish(author.address, b"from the bound server")
        f.publish(impostor.address, b"from the impostor")
        net.run_for(10)
        for follower in followers:
            self.assertTrue(f.got(follower.address, author.owner, b"from the bound server"))
            self.assertFalse(f.got(follower.address, author.owner, b"from the impostor"))
        self.assertEqual(impostor.node.channels.channels[author.owner].children, {})
