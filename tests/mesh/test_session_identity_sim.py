"""What the layer above is told a unicast came from: the owner key as claimed, and the overlay key
of the authenticated session it arrived on, which is what the node keys its budgets by. For a
relayed message that is the relay's session: the origin a RELAYED names is only what the relay
wrote, so a relay that forges origins spends its own budgets, nobody else's."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, messages as m
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

    def test_a_relayed_unicast_comes_with_the_relays_session(self):
        net, nodes = grow(30, seed=61, link=LinkModel(loss=0.01, jitter=0.02))
        a, b = nodes[5], nodes[23]
        net.block(a, b)
        sent = net.unicast(a, net.owner_of(b), b"through a relay")
        _settle(net, [sent])
        self.assertEqual(net.messages[b], [(b"through a relay", net.owner_of(a))])
        relays = [key_of(net, n) for n in nodes if net.node(n).stats["relayed"]]
        self.assertEqual(net.message_sessions[b], relays[:1])
        self.assertNotEqual(relays[0], key_of(net, a))

    def test_a_relayed_origin_forged_by_a_member_is_charged_to_the_forger(self):
        net, nodes = grow(10, seed=72)
        hostile, b, victim = nodes[3], nodes[6], nodes[8]
        hello = net.unicast(hostile, net.owner_of(b), b"hello")  # a session with b
        _settle(net, [hello])
        forged = m.Relayed(key_of(net, victim), net.owner_of(victim),
                           m.Fragment(b"F" * 16, 0, 1, m.KIND_MESSAGE, None, b"from the victim"))
        net.node(hostile).send(key_of(net, b), None, forged, net.now)
        net.run_for(limits.MAINTENANCE_INTERVAL)  # the sender flushes on its next timer
        self.assertEqual(net.messages[b][-1], (b"from the victim", net.owner_of(victim)))
        self.assertEqual(net.message_sessions[b], [key_of(net, hostile)] * 2)
