"""A follower tree in the simulator for the channel tests: 60 servers on lossy links, 40 of them
following one author, the tree given 20 s to form. Each server keeps at most 6 children, so that
this small tree has levels below full servers (as a popular author's has with 16)."""

from unittest import mock

from nostrp2p.mesh import limits
from nostrp2p.mesh.sim import LinkModel
from nostrp2p.mesh.sim.followers import Followers
from tests.mesh.helpers import grow

LOSSY = LinkModel(loss=0.01, jitter=0.02)


def settle_until(net, condition, limit=120.0, step=1.0):
    deadline = net.now + limit
    while net.now < deadline and not condition():
        net.run_for(step)
    return condition()


class ChannelTree:
    """setUp and the helpers of the tests on one author's tree (mixed into a TestCase)."""

    CHILDREN_MAX = 6

    def setUp(self):
        patch = mock.patch.object(limits, "CHANNEL_CHILDREN_MAX", self.CHILDREN_MAX)
        patch.start()
        self.addCleanup(patch.stop)
        # A seed whose tree has what the tests need (forwarders that do not follow, members
        # below members); any change of the overlay's traffic can move that.
        self.net, self.nodes = grow(60, seed=11, link=LOSSY, spacing=0.1, settle=30)
        self.f = Followers(self.net)
        self.author = self.nodes[7]
        self.owner = self.net.owner_of(self.author)
        self.followers = [a for a in self.nodes if a != self.author][:40]
        for address in self.followers:
            self.f.follow(address, self.owner)
        self.net.run_for(20)

    def _everyone_got(self, payload, who=None):
        return all(self.f.got(a, self.owner, payload) for a in (who or self.followers)
                   if self.net.hosts[a].up)

    def _has_ancestor(self, address, ancestor):
        while address != self.author:
            address = self._parent_of(address)
            if address == ancestor:
                return True
        return False

    def _parent_of(self, address):
        channel = self.net.node(address).channels.channels[self.owner]
        return next(a for a in self.nodes
                    if self.net.hosts[a].identity.public_key == channel.parent.overlay_key)

    def _member_with_a_grandchild(self, below_a_root_child=False):
        by_key = {self.net.node(a).identity.public_key: a for a in self.nodes}
        for address in self.nodes:
            channel = self.net.node(address).channels.channels.get(self.owner)
            if channel is None or address == self.author or channel.parent is None or \
                    (below_a_root_child and len(channel.path) < 2):
                continue
            for child in channel.children:
                below = self.net.node(by_key[child]).channels.channels[self.owner]
                if below.children:
                    return address, by_key[next(iter(below.children))]
        self.fail("no member has a grandchild")
