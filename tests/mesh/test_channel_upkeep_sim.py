"""The upkeep of follower trees in the simulator: a child tells its parent something only when it
has something to tell or has heard nothing from it for a while, and liveness is taken from any
datagram of the pair's session; yet a parent crashed while nothing is posted is still left, a
restarted parent still answers "not my child", paths still follow an ancestor's move, and a
server wrongly taken for a child (or wrongly dropped as one) finds out at once. And the tree stays
shallow: joins go where levels have room, a member with room takes its grandchildren up, and a full
member moves the bottom of a deep branch to room in a shallower one (each only at the word of a
server its path names above it, no one else's)."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import channel_messages as cm, limits, messages as m
from nostrp2p.mesh.descriptor import Descriptor
from tests.mesh.channel_trees import ChannelTree, settle_until


class ChannelUpkeepTests(ChannelTree, TestCase):
    def _members(self):
        """Addresses of the live servers with a parent in the author's tree."""
        return [a for a in self.nodes if self.net.hosts[a].up and a != self.author
                and self.net.node(a).channels.channels.get(self.owner) is not None
                and self.net.node(a).channels.channels[self.owner].parent is not None]

    def _key(self, address):
        return self.net.node(address).identity.public_key

    def _control_per_pair_per_minute(self, seconds, between=None):
        """Channel control messages sent (heartbeats, STATEs, joins...: everything but posts)
        per child-parent pair per minute over ``seconds``; ``between(now)`` runs every 2 s."""
        before = self.net.total("channel_control_sent")
        lost = self.net.total("channel_parent_lost")
        began = self.net.now
        while self.net.now < began + seconds:
            if between is not None:
                between()
            self.net.run_for(2)
        pairs = len(self._members())
        sent = self.net.total("channel_control_sent") - before
        return sent / pairs / (seconds / 60), self.net.total("channel_parent_lost") - lost

    def test_a_quiet_tree_costs_a_heartbeat_per_pair_per_idle_interval_and_keeps_its_parents(self):
        self.net.run_for(30)  # the children's reports are in
        per_pair, lost = self._control_per_pair_per_minute(120)
        # (Every 5 s before: 12 heartbeats per pair per minute.)
        self.assertLessEqual(per_pair, 60 / limits.CHANNEL_HEARTBEAT_IDLE)
        self.assertEqual(lost, 0)  # a quiet parent is not taken for a crashed one

    def test_a_parent_that_posts_is_sent_no_heartbeats(self):
        self.net.run_for(30)
        count = iter(range(1000))
        per_pair, _ = self._control_per_pair_per_minute(
            120, lambda: self.f.publish(self.author, b"steady %d" % next(count)))
        self.assertLess(per_pair, 1)
        self.assertTrue(self._everyone_got(b"steady 50"))

    def test_a_parent_that_crashed_while_nothing_was_posted_is_left_within_the_parent_timeout(self):
        self.net.run_for(30)
        root = self.net.node(self.author).channels.channels[self.owner]
        by_key = {self._key(a): a for a in self.nodes}
        victim = next(by_key[k] for k in root.children
                      if self.net.node(by_key[k]).channels.channels[self.owner].children)
        orphans = [by_key[k] for k in self.net.node(victim).channels.channels[self.owner].children]
        self.net.crash(victim)
        crashed = self.net.now

        def all_moved():
            return all(self._parent_of(a) != victim for a in orphans
                       if self.net.node(a).channels.channels[self.owner].parent is not None)

        self.assertTrue(settle_until(self.net, all_moved, limit=60, step=0.5))
        self.assertLessEqual(self.net.now - crashed,
                             limits.CHANNEL_PARENT_TIMEOUT + 2 * limits.CHANNEL_HEARTBEAT_INTERVAL)
        alive = [a for a in self.followers if a != victim]
        self.assertTrue(settle_until(self.net, lambda: set(alive) <= set(self.f.depths(self.owner)),
                                     limit=20))
        self.f.publish(self.author, b"after the quiet crash")
        self.net.run_for(3)
        self.assertTrue(self._everyone_got(b"after the quiet crash", alive))

    def test_a_restarted_parent_that_keeps_talking_to_its_old_child_is_asked_at_once(self):
        # Any datagram of the pair's session shows a parent alive; but one of a new session may
        # come from a server that restarted and forgot its children: it is asked at once.
        child = next(a for a in self._members() if self._parent_of(a) != self.author)
        parent = self._parent_of(child)
        self.net.crash(parent)
        # Back without its kept parents (a lost positions file): it joins by its route, so its
        # own old parent has no cause to warn the child (as it does when it takes it back).
        self.f.parents.pop(parent, None)
        self.net.restart(parent)
        node, address = self.net.node(parent), self.net.hosts[parent]

        def talk():  # e.g. it became the child's neighbour, or its child in another channel
            node.links.send(self._key(child), child, m.Ping(), self.net.now)
            self.net._flush(address)

        talk()
        channel = self.net.node(child).channels.channels[self.owner]
        began = self.net.now
        while self.net.now < began + 2 * limits.CHANNEL_HEARTBEAT_INTERVAL + 2 and \
                channel.parent is not None and channel.parent.overlay_key == self._key(parent):
            talk()
            self.net.run_for(0.5)
        self.assertFalse(channel.parent is not None and channel.parent.overlay_key == self._key(parent))
        self.assertGreater(self.net.node(child).stats["channel_parent_forgot"], 0)

    def _path_right(self, address):
        """Whether ``address``'s path to the root is its parent's and then its parent's own."""
        channel = self.net.node(address).channels.channels[self.owner]
        parent = self._parent_of(address)
        above = self.net.node(parent).channels.channels[self.owner].path
        return channel.path == (self._key(parent), *above)

    def test_paths_below_a_member_that_moves_are_put_right_at_once(self):
        self.net.run_for(30)
        member, _ = self._member_with_a_grandchild()
        channels = self.net.node(member).channels
        channel = channels.channels[self.owner]
        old = self._parent_of(member)
        # It moves under another server of the tree, outside its own subtree, with room.
        other = next(a for a in self._members() + [self.author] if a not in (member, old)
                     and not self._has_ancestor(a, member)
                     and len(self.net.node(a).channels.channels[self.owner].children)
                     < limits.CHANNEL_CHILDREN_MAX)
        identity = self.net.hosts[other].identity
        channels._join(channel, Descriptor(identity.public_key, identity.owner_key, *other), 0,
                       self.net.now)
        self.net._flush(self.net.hosts[member])
        self.assertTrue(settle_until(self.net, lambda: self._parent_of(member) == other,
                                     limit=5, step=0.1))
        self.net.run_for(1.5)
        self.assertEqual([a for a in self._members() if not self._path_right(a)], [])

    def test_a_child_taken_for_gone_while_alive_is_told_at_once(self):
        # Its parent dropped it (a post acknowledged too late: slow, or through a relay); the
        # late acknowledgement shows it alive, and it is told to join again now.
        child = next(a for a in self._members() if self._parent_of(a) != self.author)
        parent = self._parent_of(child)
        channels = self.net.node(parent).channels
        send_to_child = channels._send_to_child
        child_key = self._key(child)

        def then_taken_for_gone(channel, desc, message, now):
            send_to_child(channel, desc, message, now)
            if desc.overlay_key == child_key:
                channels._drop_child(channel, child_key, now, lost=True)

        channels._send_to_child = then_taken_for_gone
        self.f.publish(self.author, b"acknowledged late")
        self.net.run_for(1)
        del channels._send_to_child
        self.assertNotIn(child_key, channels.channels[self.owner].children)
        self.assertTrue(settle_until(self.net, lambda: self._parent_of(child) != parent,
                                     limit=3, step=0.1))
        self.f.publish(self.author, b"after")
        self.net.run_for(2)
        self.assertTrue(self.f.got(child, self.owner, b"after"))

    def test_a_server_that_is_no_longer_a_child_is_dropped_at_the_first_post(self):
        # A child that moved to another parent without a word (it took the old one for lost)
        # tells the old one at its next post, rather than getting every post twice.
        child = next(a for a in self._members() if self._parent_of(a) != self.author)
        parent = self._parent_of(child)
        channels = self.net.node(child).channels
        channel = channels.channels[self.owner]
        channels._parent_lost(channel, self.net.now)
        self.net._flush(self.net.hosts[child])
        self.assertTrue(settle_until(
            self.net, lambda: channel.parent is not None and self._parent_of(child) != parent,
            limit=10, step=0.1))
        old = self.net.node(parent).channels.channels[self.owner].children
        self.assertIn(self._key(child), old)
        self.f.publish(self.author, b"once")
        self.net.run_for(2)
        self.assertNotIn(self._key(child), old)
        self.assertTrue(self.f.got(child, self.owner, b"once"))

    def test_a_forwarder_that_does_not_follow_hands_its_children_up_where_there_is_room(self):
        # A hop of the routes that carries nobody's follow is taken out of the tree where its
        # parent can take its children: the tree is that much shallower.
        self.net.run_for(2 * limits.CHANNEL_HEARTBEAT_INTERVAL)
        needless = []
        for address in self._members():
            channel = self.net.node(address).channels.channels[self.owner]
            if address in self.followers or not channel.children:
                continue
            above = self.net.node(self._parent_of(address)).channels.channels[self.owner]
            if len(above.children) + len(channel.children) <= limits.CHANNEL_CHILDREN_MAX:
                needless.append(address)
        self.assertEqual(needless, [])
        self.assertGreater(self.net.total("channel_moved_up"), 0)
        self.f.publish(self.author, b"through a shallower tree")
        self.net.run_for(3)
        self.assertTrue(self._everyone_got(b"through a shallower tree"))

    def _room_above_grandchildren(self):
        """(member, child) pairs of the author's tree where the member has room for more
        children and its child has children of its own: a level not full above a next one."""
        by_key = {self._key(a): a for a in self.nodes}
        out = []
        for address in [self.author, *self._members()]:
            channel = self.net.node(address).channels.channels[self.owner]
            if len(channel.children) >= limits.CHANNEL_CHILDREN_MAX:
                continue
            for child in channel.children:
                below = self.net.node(by_key[child]).channels.channels.get(self.owner)
                if below is not None and below.children:
                    out.append((address, by_key[child]))
        return out

    def test_a_member_with_room_takes_its_grandchildren_up(self):
        # Wherever the routes brought the joins in, a level fills before the one below it
        # starts: a member with room invites its grandchildren up until it has none left (or
        # no room), so the tree is as shallow as its size allows.
        self.assertTrue(settle_until(self.net, lambda: not self._room_above_grandchildren(),
                                     limit=60))
        self.assertGreater(self.net.total("channel_invite_sent"), 0)
        self.assertGreater(self.net.total("channel_moved_up"), 0)
        self.assertLessEqual(max(self.f.depths(self.owner).values()), 3)  # 40 followers, 6 a level
        self.f.publish(self.author, b"through the filled levels")
        self.net.run_for(3)
        self.assertTrue(self._everyone_got(b"through the filled levels"))

    def test_only_an_ancestor_a_path_names_can_move_a_member_up(self):
        # A server that is not above us in the tree cannot take us from our parent by inviting
        # us, nor send us to an accomplice as if levelling its tree: either would hold our place
        # in the tree and could withhold every post.
        self.net.run_for(2 * limits.CHANNEL_HEARTBEAT_INTERVAL)
        member = next(a for a in self._members()  # one with a grandparent that could invite it
                      if len(self.net.node(a).channels.channels[self.owner].path) >= 2)
        channel = self.net.node(member).channels.channels[self.owner]
        parent = self._parent_of(member)
        near = {*channel.path, *channel.children}
        stranger, accomplice = [a for a in self.nodes if a not in (member, self.author)
                                and self._key(a) not in near][:2]
        channels = self.net.node(stranger).channels
        target = self.net.hosts[member].identity
        to_accomplice = self.net.hosts[accomplice].identity
        for to in (channels._own_descriptor(),
                   Descriptor(to_accomplice.public_key, to_accomplice.owner_key, *accomplice)):
            channels._send(Descriptor(target.public_key, target.owner_key, *member),
                           cm.Redirect(self.owner, to, 0), self.net.now)
        self.net._flush(self.net.hosts[stranger])
        self.net.run_for(3)
        self.assertEqual(self._parent_of(member), parent)
        for taker in (stranger, accomplice):
            taken = self.net.node(taker).channels.channels.get(self.owner)
            self.assertFalse(taken is not None and self._key(member) in taken.children)

    def test_a_join_pushed_down_goes_to_the_child_with_the_most_room(self):
        # Levels fill before the next one starts: the full root sends a joiner to the child of
        # its with the fewest children (as reported), not to each child in turn.
        self.net.run_for(2 * limits.CHANNEL_HEARTBEAT_INTERVAL)  # the children's reports are in
        root = self.net.node(self.author).channels.channels[self.owner]
        self.assertEqual(len(root.children), limits.CHANNEL_CHILDREN_MAX)
        by_key = {self._key(a): a for a in self.nodes}
        author = self.net.hosts[self.author].identity
        to_root = Descriptor(author.public_key, author.owner_key, *self.author)
        newcomers = [a for a in self.nodes if a not in self._members() and a != self.author][:8]
        placed = 0
        for newcomer in newcomers:
            counts = {by_key[k]: len(self.net.node(by_key[k]).channels.channels[self.owner].children)
                      for k in root.children}
            if min(counts.values()) >= limits.CHANNEL_CHILDREN_MAX:
                break  # the second level is full: the next goes a level further down
            placed += 1
            roomiest = [a for a, n in counts.items() if n == min(counts.values())]
            channels = self.net.node(newcomer).channels
            channels._candidates = lambda channel: [to_root]  # its route leads to the root
            self.f.follow(newcomer, self.owner)
            self.assertTrue(settle_until(
                self.net, lambda: self.net.node(newcomer).channels.channels[self.owner].parent
                is not None, limit=10, step=0.1))
            self.assertIn(self._parent_of(newcomer), roomiest)
            self.net.run_for(2 * limits.CHANNEL_HEARTBEAT_INTERVAL)  # its parent reports it
        self.assertGreaterEqual(placed, 4)

    def test_a_join_that_reaches_a_full_server_by_its_route_goes_up_first(self):
        # The full server's parent may have a child with room a level above the full one's
        # children: the joiner lands there, not two levels below the full server.
        self.net.run_for(2 * limits.CHANNEL_HEARTBEAT_INTERVAL)
        root = self.net.node(self.author).channels.channels[self.owner]
        by_key = {self._key(a): a for a in self.nodes}
        full = [by_key[k] for k in root.children
                if len(self.net.node(by_key[k]).channels.channels[self.owner].children)
                == limits.CHANNEL_CHILDREN_MAX]
        self.assertTrue(full)
        identity = self.net.hosts[full[0]].identity
        route = Descriptor(identity.public_key, identity.owner_key, *full[0])
        newcomer = next(a for a in self.nodes if a not in self._members() and a != self.author)
        self.net.node(newcomer).channels._candidates = lambda channel: [route]
        self.f.follow(newcomer, self.owner)
        self.assertTrue(settle_until(
            self.net, lambda: self.net.node(newcomer).channels.channels[self.owner].parent
            is not None, limit=10, step=0.1))
        self.assertEqual(self.f.depths(self.owner)[newcomer], 2)
        self.assertGreater(self.net.node(full[0]).stats["channel_join_pushed_up"], 0)


class LevellingTests(ChannelTree, TestCase):
    CHILDREN_MAX = 2  # a binary tree: 40 followers make six levels, and room on several

    def test_a_full_member_moves_the_bottom_of_a_deep_branch_to_room_higher_up(self):
        # Joins land wherever their routes meet the tree: five in a row under its deepest
        # member make a branch five levels deeper. Invitations take part of it up where a
        # grandparent has room; the rest is moved by the full members above it to room in
        # other branches, until the bottom is at most CHANNEL_LEVEL_GAIN below the level with
        # room, and posts still reach everyone.
        self.net.run_for(30)
        before = max(self.f.depths(self.owner).values())
        self._chain_below_the_deepest_member(5)
        self.assertEqual(max(self.f.depths(self.owner).values()), before + 5)
        self.assertTrue(settle_until(self.net, lambda: max(self.f.depths(self.owner).values())
                                     <= before, limit=60))
        self.assertGreater(self.net.total("channel_level_sent"), 0)
        self.f.publish(self.author, b"through the levelled tree")
        self.net.run_for(3)
        self.assertTrue(self._everyone_got(b"through the levelled tree"))

    def _chain_below_the_deepest_member(self, count):
        """``count`` servers that were not in the tree join it one below the other, under its
        deepest member (their routes lead there): a deep branch, as joins that land wherever
        their routes meet the tree can leave. Returns them."""
        depths = self.f.depths(self.owner)
        below = max(depths, key=depths.get)
        outside = [a for a in self.nodes if a not in depths
                   and self.owner not in self.net.node(a).channels.channels]
        chain = outside[:count]
        for newcomer in chain:
            identity = self.net.hosts[below].identity
            route = Descriptor(identity.public_key, identity.owner_key, *below)
            self.net.node(newcomer).channels._candidates = lambda channel, route=route: [route]
            self.f.follow(newcomer, self.owner)
            self.assertTrue(settle_until(
                self.net, lambda: self.net.node(newcomer).channels.channels[self.owner].parent
                is not None, limit=10, step=0.1))
            self.assertEqual(self._parent_of(newcomer), below)
            below = newcomer
        return chain
