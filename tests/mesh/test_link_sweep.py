"""The links' sweep (nostrp2p/mesh/links.py): a session the overlay's views do not keep up is let
go within a sweep of going quiet for IDLE_SESSION_TIMEOUT, though the sweep looks at every peer
only every SESSION_CIPHER_IDLE and at the others when they are due."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.links import LINK_CHECK_INTERVAL
from tests.mesh.helpers import grow


class SweepTests(TestCase):
    def test_quiet_sessions_outside_the_views_are_let_go_within_a_sweep_of_their_deadline(self):
        net, nodes = grow(40, seed=11)
        source = net.node(nodes[-1])
        others = [a for a in nodes[1:-1] if not source.needs_peer(net.node(a).identity.public_key)
                  and net.node(a).identity.public_key not in source.links.peers][:5]
        self.assertEqual(len(others), 5)
        for address in others:  # one at a time, so that their deadlines fall apart
            source.links.send(net.node(address).identity.public_key, address, m.Ping(), net.now)
            net._flush(net.hosts[nodes[-1]])
            net.run_for(1.3)
        keys = {net.node(a).identity.public_key for a in others}
        self.assertTrue(all(key in source.links.peers for key in keys))
        deadlines = {key: max(source.links.peers[key].last_recv, source.links.peers[key].last_sent)
                     + limits.IDLE_SESSION_TIMEOUT for key in keys}
        gone = {}
        while len(gone) < len(keys) and net.now < max(deadlines.values()) + 10:
            net.run_for(0.1)
            for key in keys - gone.keys():
                if key not in source.links.peers:
                    gone[key] = net.now
        self.assertEqual(gone.keys(), keys)
        for key in keys:
            self.assertLessEqual(gone[key] - deadlines[key], LINK_CHECK_INTERVAL + 0.1)
            self.assertGreater(gone[key], deadlines[key])
