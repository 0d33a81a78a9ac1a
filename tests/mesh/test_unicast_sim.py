"""Unicast by owner key in the simulator: every server reachable from any other, exactly once
under loss and reordering, large payloads intact, typed failures for what cannot arrive."""

import random

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits
from nostrp2p.mesh.errors import TimedOut, Unreachable, UnknownKey
from nostrp2p.mesh.sim import LinkModel
from nostrp2p.mesh.broadcast import PayloadTooLarge
from tests.mesh.helpers import grow

LOSSY = LinkModel(loss=0.01, jitter=0.03, duplicate=0.01)


def _settle(net, outcomes, limit=120.0):
    deadline = net.now + limit
    while net.now < deadline and any(o.finished is None for o in outcomes):
        net.run_for(1.0)


class UnicastTests(TestCase):
    def test_every_server_is_reached_from_random_sources_exactly_once(self):
        net, nodes = grow(200, seed=31, link=LOSSY, spacing=0.1, settle=40)
        rng = random.Random(31)
        sent = {}
        for n, target in enumerate(nodes):
            source = rng.choice([a for a in nodes if a != target])
            payload = b"to %d" % n
            sent[target] = (net.unicast(source, net.owner_of(target), payload), payload,
                            net.owner_of(source))
        _settle(net, [o for o, _, _ in sent.values()])
        failed = {t: o.error for t, (o, _, _) in sent.items() if o.error is not None}
        self.assertEqual(failed, {})
        for target, (outcome, payload, origin) in sent.items():
            self.assertEqual(net.messages[target], [(payload, origin)], target)
        hops = max(len(net.node(a).router.table) for a in nodes)
        self.assertLess(hops, 200)  # the table is a sample of the network, not all of it

    def test_large_payload_arrives_intact_under_loss(self):
        net, nodes = grow(20, seed=32, link=LOSSY)
        payload = random.Random(5).randbytes(200_000)
        outcome = net.unicast(nodes[3], net.owner_of(nodes[17]), payload)
        _settle(net, [outcome])
        self.assertIsNone(outcome.error)
        received = net.messages[nodes[17]]
        self.assertEqual([(len(p), o) for p, o in received], [(len(payload), net.owner_of(nodes[3]))])
        self.assertTrue(received[0][0] == payload, "the payload arrived altered")
        self.assertGreater(net.total("unicast_retransmitted"), 0)  # loss was met and repaired

    def test_too_large_is_refused_at_once(self):
        net, nodes = grow(3, seed=33)
        with self.assertRaises(PayloadTooLarge):
            net.unicast(nodes[0], net.owner_of(nodes[1]), b"x" * (limits.MAX_UNICAST_PAYLOAD + 1))

    def test_unknown_key_fails_as_unknown(self):
        net, nodes = grow(20, seed=34)
        outcome = net.unicast(nodes[2], b"\x42" * 32, b"anyone there?")
        _settle(net, [outcome])
        self.assertIsInstance(outcome.error, UnknownKey)

    def test_crashed_server_fails_then_succeeds_after_it_returns(self):
        net, nodes = grow(30, seed=35)
        target = nodes[11]
        first = net.unicast(nodes[4], net.owner_of(target), b"warm-up")
        _settle(net, [first])
        self.assertIsNone(first.error)
        net.crash(target)
        outcome = net.unicast(nodes[4], net.owner_of(target), b"while away")
        stranger = net.unicast(nodes[7], net.owner_of(target), b"from one that never met it")
        _settle(net, [outcome, stranger])
        self.assertIsInstance(outcome.error, Unreachable)
        self.assertIsInstance(stranger.error, Unreachable)  # its contacts still name it
        self.assertEqual(net.messages[target], [(b"warm-up", net.owner_of(nodes[4]))])
        net.restart(target)
        net.run_for(20)
        retry = net.unicast(nodes[4], net.owner_of(target), b"while away")
        _settle(net, [retry])
        self.assertIsNone(retry.error)
        self.assertEqual(net.messages[target][-1], (b"while away", net.owner_of(nodes[4])))

    def test_request_gets_its_reply_and_times_out_when_nobody_answers(self):
        net, nodes = grow(20, seed=36, link=LOSSY)
        big = b"q" * 5000
        outcome = net.request(nodes[1], net.owner_of(nodes[9]), big)
        _settle(net, [outcome])
        self.assertEqual((outcome.error, outcome.result), (None, b"re:" + big))
        net.crash(nodes[9])
        late = net.request(nodes[1], net.owner_of(nodes[9]), b"hello?", timeout=5.0)
        _settle(net, [late])
        self.assertIsInstance(late.error, (TimedOut, Unreachable))

    def test_stopping_fails_what_is_still_being_looked_up(self):
        net, nodes = grow(10, seed=38)
        looking = net.unicast(nodes[2], b"\x43" * 32, b"to a server nobody knows")
        asking = net.request(nodes[2], b"\x44" * 32, b"and a question")
        net.run_for(0.5)
        self.assertIsNone(looking.finished)
        net.stop(nodes[2])
        self.assertIsInstance(looking.error, Unreachable)
        self.assertIsInstance(asking.error, Unreachable)

    def test_sending_to_oneself_delivers_locally(self):
        net, nodes = grow(3, seed=37)
        outcome = net.unicast(nodes[0], net.owner_of(nodes[0]), b"note to self")
        self.assertIsNone(outcome.error)
        self.assertEqual(net.messages[nodes[0]], [(b"note to self", net.owner_of(nodes[0]))])
