"""The link to each peer follows an explicit state machine (handshakes.py): initiating,
established, rekeying; a transition it does not list is refused at once."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits
from nostrp2p.mesh.handshakes import LinkState, Peer
from tests.mesh.helpers import grow


def _expected(peer) -> LinkState:
    if peer.current is None:
        return LinkState.IDLE if peer.handshake is None else LinkState.INITIATING
    return LinkState.ESTABLISHED if peer.handshake is None else LinkState.REKEYING


class PeerStateTests(TestCase):
    def test_initiate_establish_rekey(self):
        peer, first, second = Peer(b"k" * 32, None, ("192.0.2.1", 7000), 0.0), object(), object()
        peer.begin_handshake(first)
        self.assertEqual(peer.state, LinkState.INITIATING)
        self.assertRaises(RuntimeError, peer.begin_handshake, second)  # one handshake out at once
        self.assertFalse(peer.end_handshake(second))  # not its handshake: nothing changes
        self.assertTrue(peer.end_handshake(first))
        peer.install("session")
        self.assertEqual(peer.state, LinkState.ESTABLISHED)
        peer.begin_handshake(second)
        self.assertEqual(peer.state, LinkState.REKEYING)
        peer.install("fresher session")  # the other side's handshake made one first
        self.assertEqual((peer.state, peer.previous), (LinkState.REKEYING, "session"))
        self.assertTrue(peer.end_handshake(second))
        self.assertEqual(peer.state, LinkState.ESTABLISHED)

    def test_a_failed_first_handshake_goes_back_to_idle(self):
        peer, hs = Peer(b"k" * 32, None, ("192.0.2.1", 7000), 0.0), object()
        peer.begin_handshake(hs)
        peer.end_handshake(hs)
        self.assertEqual(peer.state, LinkState.IDLE)


class LinkStatesInANetworkTests(TestCase):
    def test_through_churn_and_rekeys_every_link_is_in_the_state_its_sessions_say(self):
        net, nodes = grow(10, seed=21, settle=20)
        for round_ in range(5):  # 750 s: past REKEY_AFTER for the first sessions
            net.crash(nodes[3 + round_])
            net.run_for(limits.REKEY_AFTER / 4)
            net.restart(nodes[3 + round_])
            for address in net.live():
                for peer in net.node(address).links.peers.values():
                    self.assertEqual(peer.state, _expected(peer), address)
        self.assertGreater(net.total("sessions_established"), 100)  # rekeys happened
        self.assertEqual(net.total("handler_failed") + net.total("timer_failed"), 0)
