"""A server asks where its peers see it (WHOAMI) until a few agree, then about once a minute:
not on every new session (a join storm's fifth of all datagrams), yet a new public address is
still learned within about a minute, and nobody can tell it where it is unasked."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, messages as m, wire
from nostrp2p.mesh.sim import NatType, SimNetwork
from nostrp2p.mesh.whoami_asking import WhoAmIAsking
from tests.mesh.helpers import grow
from tests.mesh.test_unicast_sim import _settle


def behind_a_cone(seed, publics=12):
    """Public servers, and one server behind a port-restricted cone that has settled its address."""
    net = SimNetwork(seed=seed)
    boot = net.add_node()
    for _ in range(publics):
        net.run_for(0.2)
        net.add_node(bootstrap=[boot])
    box = net.add_nat("nat-home", NatType.PORT_RESTRICTED)
    home = net.add_node(bootstrap=[boot], nat=box)
    net.run_for(40)
    return net, box, home


class WhoAmISimTests(TestCase):
    def test_a_settled_server_does_not_ask_every_new_peer(self):
        net, nodes = grow(40, seed=211, settle=40)
        asker = net.node(nodes[5])
        self.assertTrue(asker.traversal.asking.settled)
        strangers = [a for a in nodes if a != nodes[5]
                     and not asker.links.has_session(net.node(a).identity.public_key)]
        self.assertGreaterEqual(len(strangers), 15)
        sessions, asked = asker.stats["sessions_established"], asker.stats["whoami_sent"]
        outcomes = [net.unicast(nodes[5], net.owner_of(a), b"hello") for a in strangers]
        _settle(net, outcomes)
        self.assertTrue(all(o.error is None for o in outcomes))
        self.assertGreaterEqual(asker.stats["sessions_established"] - sessions, len(strangers))
        # A new session is asked only once a recheck is due: at most one in these seconds.
        self.assertLessEqual(asker.stats["whoami_sent"] - asked, 1)

    def test_a_new_public_address_is_learned_within_a_recheck(self):
        net, box, home = behind_a_cone(seed=213)
        traversal = net.node(home).traversal
        self.assertTrue(traversal.asking.settled)
        [before] = traversal.reflexive_addresses()
        self.assertEqual(before[0], box.public_host)
        box.restart()  # the router restarts: the server's datagrams leave from a new port
        net.run_for(limits.WHOAMI_RECHECK_INTERVAL + 10)
        [after] = traversal.reflexive_addresses()
        self.assertEqual(after[0], box.public_host)
        self.assertNotEqual(after, before)
        self.assertEqual(traversal.behaviour, "endpoint-independent")
        self.assertTrue(traversal.asking.settled)
        self.assertGreater(net.node(home).stats["reflexive_unsettled"], 0)

    def test_a_settled_server_still_asks_one_peer_a_recheck_without_new_sessions(self):
        # A change is noticed even where no new session would bring a report.
        # Four servers, each an active neighbour of the others: their sessions last.
        net, nodes = grow(4, seed=223, settle=60)
        node = net.node(nodes[3])
        self.assertTrue(node.traversal.asking.settled)
        sessions, asked = node.stats["sessions_established"], node.stats["whoami_sent"]
        net.run_for(limits.WHOAMI_RECHECK_INTERVAL * 5)
        self.assertEqual(node.stats["sessions_established"], sessions)
        self.assertIn(node.stats["whoami_sent"] - asked, (4, 5))

    def test_a_symmetric_nat_settles_as_endpoint_dependent(self):
        net = SimNetwork(seed=217)
        boot = net.add_node()
        for _ in range(8):
            net.add_node(bootstrap=[boot])
        sym = net.add_node(bootstrap=[boot], nat=net.add_nat("nat-s", NatType.SYMMETRIC))
        net.run_for(60)
        traversal = net.node(sym).traversal
        self.assertEqual(traversal.behaviour, "endpoint-dependent")
        self.assertTrue(traversal.asking.settled)

    def test_a_you_are_nobody_asked_for_is_not_taken(self):
        net, nodes = grow(6, seed=219, settle=20)
        node = net.node(nodes[1])
        waiting = node.traversal.asking.waiting
        peer = next(p for p in node.links.peers.values()
                    if node.links.has_session(p.overlay_key) and p.overlay_key not in waiting)
        observed = dict(node.traversal.observed)
        node.receive_message(peer, wire.pack(m.YouAre("192.0.2.9", 4444).encode()), net.now)
        self.assertEqual(dict(node.traversal.observed), observed)
        self.assertEqual(node.stats["drop_unasked_you_are"], 1)


class WhoAmIAskingTests(TestCase):
    """The asking rules alone, with made-up peers and times."""

    A, B, C = ("203.0.113.1", 40000), ("203.0.113.1", 40001), ("203.0.113.1", 40002)

    def test_settled_when_the_latest_reports_all_agree_or_all_differ(self):
        asking = WhoAmIAsking()
        self.assertIsNone(asking.settle([self.A, self.A]))
        self.assertFalse(asking.settled)
        self.assertEqual(asking.settle([self.B, self.A, self.A, self.A]), self.A)
        self.assertTrue(asking.settled)
        self.assertIsNone(asking.settle([self.A, self.A, self.A, self.B]))  # a change, maybe
        self.assertFalse(asking.settled)
        self.assertIsNone(asking.settle([self.A, self.B, self.C]))  # endpoint-dependent
        self.assertTrue(asking.settled)

    def test_new_peers_are_asked_a_few_at_a_time_until_settled_then_once_a_recheck(self):
        asking = WhoAmIAsking()
        wanted = [n for n in range(10) if asking.new_peer(bytes([n]) * 32, 0.0)
                  and asking.asking(bytes([n]) * 32, 0.0) is None]
        self.assertEqual(len(wanted), limits.WHOAMI_SETTLE_REPORTERS)  # answers take a round trip
        self.assertTrue(asking.new_peer(b"\x20" * 32, limits.WHOAMI_ANSWER_TIMEOUT + 1))
        asking.settle([self.A] * limits.WHOAMI_SETTLE_REPORTERS)
        self.assertFalse(asking.new_peer(b"\x21" * 32, 1.0))
        self.assertTrue(asking.new_peer(b"\x21" * 32, limits.WHOAMI_RECHECK_INTERVAL))

    def test_unprompted_asks_go_to_the_peers_asked_longest_ago(self):
        asking = WhoAmIAsking()
        peers = [bytes([n]) * 32 for n in range(5)]
        for n, peer in enumerate(peers[:4]):
            asking.asking(peer, float(n))
            self.assertTrue(asking.answered(peer, float(n)))
        asking.settle([self.A] * 3)
        self.assertEqual(asking.unprompted(peers, 10.0), [])  # asked 7 s ago: no recheck due
        self.assertEqual(asking.unprompted(peers, 3 + limits.WHOAMI_RECHECK_INTERVAL), [peers[4]])
        asking.settle([self.A, self.A, self.B])  # a report disagrees: ask again at once
        self.assertEqual(asking.unprompted(peers[:4], 20.0, unsettled_now=True), peers[:3])

    def test_only_an_answer_to_our_own_ask_in_time_is_taken(self):
        asking = WhoAmIAsking()
        peer = b"\x01" * 32
        self.assertFalse(asking.answered(peer, 0.0))
        asking.asking(peer, 0.0)
        self.assertFalse(asking.answered(peer, limits.WHOAMI_ANSWER_TIMEOUT + 0.1))
        asking.asking(peer, 10.0)
        self.assertTrue(asking.answered(peer, 11.0))
        self.assertFalse(asking.answered(peer, 11.0))  # taken once
