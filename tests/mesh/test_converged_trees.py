"""The simulator's converged start of follower channels (nostrp2p/mesh/sim/converged_trees.py):
the state it installs is one the real protocol keeps as it is (nothing to repair, nobody to
move) and delivers through: every follower gets every post, no one else stores any, and no
server keeps more than CHANNEL_CHILDREN_MAX children."""

import random
from unittest import mock

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits
from nostrp2p.mesh.sim import LinkModel
from nostrp2p.mesh.sim.converged import grow_converged
from nostrp2p.mesh.sim.converged_trees import build_trees
from nostrp2p.mesh.sim.followers import Followers


class ConvergedTreesTests(TestCase):
    CHILDREN_MAX = 4  # small, so that 60 servers make full servers, redirects and levels

    def setUp(self):
        patch = mock.patch.object(limits, "CHANNEL_CHILDREN_MAX", self.CHILDREN_MAX)
        patch.start()
        self.addCleanup(patch.stop)
        self.net, self.nodes = grow_converged(60, seed=3, link=LinkModel())
        rng = random.Random(9)
        self.f = Followers(self.net)
        self.authors = self.nodes[:6]
        self.owners = [self.net.owner_of(a) for a in self.authors]
        for owner, count in zip(self.owners, (50, 30, 12, 5, 2, 1)):
            author = self.authors[self.owners.index(owner)]
            for fan in rng.sample([a for a in self.nodes if a != author], count):
                self.f.follows[fan].add(owner)
        self.counts = build_trees(self.net, self.f.follows, random.Random(1))

    def _members(self, owner):
        return {a: self.net.node(a).channels.channels[owner] for a in self.nodes
                if owner in self.net.node(a).channels.channels}

    def test_every_follow_is_joined_within_the_bounds(self):
        self.assertEqual(self.counts["follows"], 100)
        self.assertEqual(self.counts["unjoined"], 0)
        self.assertGreater(self.counts["redirects"], 0)  # full servers passed joins on
        for owner, author in zip(self.owners, self.authors):
            depths = self.f.depths(owner)
            for fan, follows in self.f.follows.items():
                if owner in follows:
                    self.assertIn(fan, depths)  # its chain of parents reaches the root
            for address, channel in self._members(owner).items():
                self.assertLessEqual(len(channel.children), self.CHILDREN_MAX)
                if address != author:
                    self.assertEqual(channel.subscribed, owner in self.f.follows[address])
                    # a forwarder that follows nobody is there only for children it kept
                    self.assertTrue(channel.subscribed or channel.children)

    def test_the_real_protocol_finds_nothing_to_change(self):
        def changes():
            return (self.net.total("channel_join_sent"), self.net.total("channel_parent_lost"),
                    self.net.total("channel_child_dropped"))

        for owner in self.owners:  # each parent holds its children's subtrees as they are
            for address, channel in self._members(owner).items():
                if channel.parent is not None:
                    self.assertIsNone(self.net.node(address).channels._shape_report(channel)[0])
        before = changes()
        self.net.run_for(90)  # past the first heartbeats, hand-ups, invitations and levelling
        self.assertEqual(changes(), before)
        for owner in self.owners:
            for channel in self._members(owner).values():
                self.assertFalse(channel.handed - set(channel.children))

    def test_posts_reach_every_follower_and_no_one_else_holds_them(self):
        self.net.run_for(5)
        for author in self.authors:
            self.f.publish(author, b"post of " + self.net.owner_of(author)[:4])
        self.net.run_for(10)
        for owner, author in zip(self.owners, self.authors):
            payload = b"post of " + owner[:4]
            for address in self.nodes:
                wanted = owner in self.f.follows[address]
                self.assertEqual(self.f.got(address, owner, payload), wanted, (address, author))
