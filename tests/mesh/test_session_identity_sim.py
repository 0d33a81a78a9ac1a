"""What the layer above is told a unicast came from: the owner key as claimed, and the overlay key
of the authenticated session it arrived on, which is what the node keys its budgets by. A relayed
message arrives in its origin's own end-to-end session, which the relay carries and cannot
forge: a RELAYED naming another origin delivers nothing (tests/mesh/test_relay_attacks_sim.py
has the relay as attacker)."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, messages as m, wire
from nostrp2p.mesh.sim import LinkModel
from tests.mesh.helpers import grow
from tests.mesh.test_unicast_sim import _settle


def key_of(net, address) -> bytes:
    return net.node(address).identity.public_key


class SessionIdentityTests(TestCase):
    def test_a_direct_unicast_comes_with_its_senders_session(self):
        net, nodes = grow(10, seed=71)
        a, b = nodes[2], nodes[7]
        sent = net.unicast(a, net.owner_of(b), b"direct")
        _settle(net, [sent])
        self.assertEqual(net.messages[b], [(b"direct", net.owner_of(a))])
        self.assertEqual(net.message_sessions[b], [key_of(net, a)])

    def test_a_relayed_unicast_comes_with_its_origins_own_session(self):
        # The relay carries a's end-to-end session with b: b's budgets are a's, not the relay's.
        net, nodes = grow(30, seed=61, link=LinkModel(loss=0.01, jitter=0.02))
        a, b = nodes[5], nodes[23]
        net.block(a, b)
        sent = net.unicast(a, net.owner_of(b), b"through a relay")
        _settle(net, [sent])
        self.assertEqual(net.messages[b], [(b"through a relay", net.owner_of(a))])
        self.assertEqual(net.message_sessions[b], [key_of(net, a)])
        self.assertGreater(net.total("relayed"), 0)

    def test_a_relayed_origin_forged_by_a_member_delivers_nothing(self):
        net, nodes = grow(10, seed=72)
        hostile, b, victim = nodes[3], nodes[6], nodes[8]
        hello = net.unicast(hostile, net.owner_of(b), b"hello")  # a session with b
        _settle(net, [hello])
        fragment = m.Fragment(b"F" * 16, 0, 1, m.KIND_MESSAGE, None, b"from the victim")
        header = wire.DATA_HEADER.pack(wire.MAGIC, wire.FRAME_DATA, 1, 1)
        forged = m.Relayed(key_of(net, victim), net.owner_of(victim),
                           header + wire.pack(fragment.encode()) + bytes(wire.TAG_SIZE))
        net.node(hostile).send(key_of(net, b), None, forged, net.now)
        net.run_for(limits.MAINTENANCE_INTERVAL)
        self.assertEqual(net.messages[b], [(b"hello", net.owner_of(hostile))])
        self.assertEqual(net.node(b).stats["relayed_received"], 1)
        self.assertEqual(net.node(b).stats["drop_unknown_session"], 1)
