"""Hostile members against broadcast, in the simulator (real cores): a broadcast's id is bound
to its content, so junk sent under a real broadcast's id neither stands in for it nor prunes
the servers that bring it, and Plumtree still reaches everyone."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.sim.hostile import junk_under, record_payloads, send_to_neighbours
from tests.mesh.helpers import grow

REAL = b"a fresh event"


class JunkUnderARealIdTests(TestCase):
    def setUp(self):
        self.net, self.nodes = grow(20, seed=151, settle=30)
        self.hostile, self.origin = self.nodes[0], self.nodes[7]
        self.honest = [a for a in self.nodes if a not in (self.hostile, self.origin)]
        self.got = record_payloads(self.net)

    def real_receivers(self, mid):
        return {a for a in self.honest if (REAL, self.net.owner_of(self.origin), mid)
                in self.got[a]}

    def test_junk_sent_first_under_a_fresh_id_does_not_stop_the_real_event(self):
        mid = self.net.broadcast(self.origin, REAL)
        # The hostile server races the real event with junk under its id (it could have it
        # from an IHAVE, or by being the origin's neighbour).
        send_to_neighbours(self.net, self.hostile, junk_under(mid, self.net.owner_of(self.origin)))
        self.net.run_for(10)
        self.assertEqual(self.real_receivers(mid), set(self.honest))
        for address in self.honest:
            self.assertNotIn(b"junk", [payload for payload, _, _ in self.got[address]])
        self.assertGreater(self.net.total("drop_gossip_wrong_id"), 0)

    def test_a_forwarder_writing_the_most_hops_does_not_end_the_broadcast(self):
        # The hop count is not covered by the id: a forwarder that writes MAX_HOPS must not make
        # the next hop's copy malformed.
        broadcaster = self.net.node(self.hostile).broadcaster
        send = broadcaster._send_gossip
        broadcaster._send_gossip = lambda key, mid, origin, salt, payload, hops, now: send(
            key, mid, origin, salt, payload, limits.MAX_HOPS, now)
        mid = self.net.broadcast(self.origin, REAL)
        origin_owner = self.net.owner_of(self.origin)
        salt = self.net.node(self.origin).broadcaster.store[mid][1]
        send_to_neighbours(self.net, self.hostile,
                           m.Gossip(mid, origin_owner, salt, limits.MAX_HOPS, b"\x00" + REAL))
        self.net.run_for(10)
        self.assertEqual(self.real_receivers(mid), set(self.honest))
        self.assertEqual(self.net.total("drop_malformed"), 0)
