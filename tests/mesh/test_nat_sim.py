"""NAT boxes in the simulator behave as real NATs do, and servers behind any pair of them reach
each other over the overlay: directly where the NATs let datagrams in, through relays where not."""

import itertools

from twisted.trial.unittest import TestCase

from nostrp2p.mesh.sim import NatBox, NatType, SimNetwork
from tests.mesh.test_unicast_sim import _settle

REMOTE = ("public-1", 7000)
OTHER_PORT = ("public-1", 7001)
OTHER_HOST = ("public-2", 7000)


class NatBoxTests(TestCase):
    def _box(self, kind):
        box = NatBox("nat", kind, mapping_timeout=30.0)
        inside = box.private_address(1)
        mapped = box.outbound(inside, REMOTE, now=0.0)
        return box, inside, mapped

    def test_who_may_answer(self):
        expected = {  # (same remote, other port of that host, other host)
            NatType.FULL_CONE: (True, True, True),
            NatType.ADDRESS_RESTRICTED: (True, True, False),
            NatType.PORT_RESTRICTED: (True, False, False),
            NatType.SYMMETRIC: (True, False, False),
        }
        for kind, allowed in expected.items():
            box, inside, mapped = self._box(kind)
            got = tuple(box.inbound(mapped[1], remote, 1.0) == inside
                        for remote in (REMOTE, OTHER_PORT, OTHER_HOST))
            self.assertEqual(got, allowed, kind)

    def test_symmetric_maps_each_remote_to_its_own_port_cone_keeps_one(self):
        for kind in NatType:
            box, inside, mapped = self._box(kind)
            again = box.outbound(inside, OTHER_HOST, now=1.0)
            self.assertEqual(again != mapped, kind is NatType.SYMMETRIC, kind)

    def test_idle_mappings_expire(self):
        box, inside, mapped = self._box(NatType.FULL_CONE)
        self.assertEqual(box.inbound(mapped[1], REMOTE, 29.0), inside)
        self.assertIsNone(box.inbound(mapped[1], REMOTE, 31.0))


class OverlayBehindNatsTests(TestCase):
    def _pair(self, first: NatType, second: NatType, seed: int):
        net = SimNetwork(seed=seed)
        boot = net.add_node()
        publics = [net.add_node(bootstrap=[boot]) for _ in range(3)]
        a = net.add_node(bootstrap=[boot], nat=net.add_nat("nat-a", first))
        b = net.add_node(bootstrap=[boot], nat=net.add_nat("nat-b", second))
        net.run_for(30)
        return net, a, b, [boot] + publics

    def test_every_pair_of_nat_types_exchanges_messages_both_ways(self):
        for n, (first, second) in enumerate(itertools.product(NatType, repeat=2)):
            net, a, b, _ = self._pair(first, second, seed=70 + n)
            there = net.unicast(a, net.owner_of(b), b"a to b")
            back = net.request(b, net.owner_of(a), b"b to a")
            _settle(net, [there, back])
            self.assertIsNone(there.error, (first, second))
            self.assertEqual(net.messages[b], [(b"a to b", net.owner_of(a))], (first, second))
            self.assertEqual((back.error, back.result), (None, b"re:b to a"), (first, second))
            direct = net.node(a).links.has_session(net.node(b).identity.public_key)
            # A full-cone NAT lets anyone in; two symmetric NATs never let each other in (each
            # maps the other to a port nobody announced), so that pair can only talk via relays.
            # In between, the two handshakes crossing each other open the way, or not.
            if second is NatType.FULL_CONE:
                self.assertTrue(direct, (first, second))
            if first is second is NatType.SYMMETRIC:
                self.assertFalse(direct, (first, second))
                self.assertGreater(net.total("relayed"), 0)

    def test_a_server_behind_a_nat_joins_and_gets_broadcasts(self):
        net, a, b, publics = self._pair(NatType.SYMMETRIC, NatType.PORT_RESTRICTED, seed=90)
        self.assertTrue(net.node(a).peers() and net.node(b).peers())
        mid = net.broadcast(publics[2], b"to everyone, NATs or not")
        net.run_for(5)
        self.assertTrue({a, b} <= net.reached(mid))
