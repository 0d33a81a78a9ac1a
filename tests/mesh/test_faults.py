"""The core survives its own faults: a handler or timer callback that raises is counted (and
logged), and the overlay goes on delivering; what was sent before the fault still goes out."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import messages as m
from tests.mesh.helpers import grow


class Boom(Exception):
    pass


def _raise_after(handler):
    def failing(peer, message, now):
        handler(peer, message, now)  # whatever it sends is queued first...
        raise Boom("a fault in a handler")  # ...and must still go out
    return failing


class HandlerFaultTests(TestCase):
    def test_every_handler_raising_leaves_the_overlay_delivering(self):
        net, nodes = grow(6, seed=31, settle=20)
        faulty = net.node(nodes[2])
        for message_class, handler in list(faulty._handlers.items()):
            faulty.handle(message_class, _raise_after(handler))
        net.run_for(60)  # keepalives, shuffles, announcements: every handler gets to fail
        self.assertGreater(faulty.stats["handler_failed"], 10)
        self.assertTrue(faulty.membership.active)
        for origin in (nodes[0], nodes[2]):
            mid = net.broadcast(origin, b"still delivered from %d" % nodes.index(origin))
            net.run_for(5)
            self.assertEqual(net.reached(mid), set(nodes))
        there = net.unicast(nodes[4], net.owner_of(nodes[2]), b"to the faulty one")
        back = net.request(nodes[2], net.owner_of(nodes[5]), b"from the faulty one")
        net.run_for(20)
        self.assertIsNone(there.error)
        self.assertEqual((back.error, back.result), (None, b"re:from the faulty one"))
        self.flushLoggedErrors(Boom)

    def test_a_timer_callback_raising_stops_no_other_timer(self):
        net, nodes = grow(4, seed=32, settle=10)
        node = net.node(nodes[1])

        def broken(now):
            raise Boom("a fault in a timer")

        node.timers.call_at(net.now + 1.0, broken)
        node.timers.call_at(net.now + 1.0, broken)
        net.run_for(120)  # past PEER_TIMEOUT many times: only running timers keep links alive
        self.assertEqual(node.stats["timer_failed"], 2)
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)  # logged at most once per interval
        self.assertTrue(node.membership.active)
        mid = net.broadcast(nodes[1], b"after the fault")
        net.run_for(5)
        self.assertEqual(net.reached(mid), set(nodes))

    def test_a_peer_cannot_make_a_handler_fail(self):
        """The faults above are ours; a peer's message is checked before any handler runs, so
        no shape of it reaches a handler that would fail on it (see test_fuzz too)."""
        net, nodes = grow(3, seed=33, settle=10)
        node = net.node(nodes[0])
        peer = next(p for p in node.links.peers.values() if p.current is not None)
        node.dispatch(peer, m.Punch(peer.overlay_key, peer.owner, "192.0.2.1", 7000), net.now)
        node.dispatch(peer, m.Relayed(node.identity.public_key, peer.owner, m.FragmentAck(b"\x00" * 16, 0)),
                      net.now)
        self.assertEqual(node.stats["handler_failed"], 0)
        self.assertEqual(node.stats["drop_malformed"], 1)  # a RELAYED claiming to come from us
