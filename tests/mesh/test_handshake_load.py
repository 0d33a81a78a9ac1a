"""Handshakes under load, in the simulator: forged INIT floods (from many sources, and from one
host's many ports) do not lock a newcomer out, and a replayed INIT costs the responder a stateless
check and gets nothing larger than itself back (PROTOCOL.md "COOKIE")."""

import random

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import crypto, limits, wire
from nostrp2p.mesh.handshakes import CookieSecrets
from nostrp2p.mesh.sim import SimNetwork


def forged_init(rng) -> bytes:
    """A valid INIT on an open network (anyone can make one: the MAC key is all zeros)."""
    return crypto.make_init(crypto.ZERO_NETWORK_KEY, rng.randbytes(32), rng.randbytes(32),
                            rng.randbytes(32), rng.randrange(1, 2 ** 32))


def flood(net, target, sources, per_second, seconds, rng):
    """Schedule per_second forged INITs a second for ``seconds``, cycling through ``sources``."""
    count = int(per_second * seconds)
    for i in range(count):
        net.inject(forged_init(rng), sources[i % len(sources)], target, delay=i / per_second)


def neighbours(net, a, b) -> bool:
    return net.node(b).identity.public_key in net.node(a).membership.active


class ForgedInitFloodTests(TestCase):
    def _newcomer_joins_during(self, sources):
        net = SimNetwork(seed=21)
        a = net.add_node()
        rng = random.Random(5)
        flood(net, a, sources, per_second=1000, seconds=6, rng=rng)
        net.run_for(1)  # the flood is on before the newcomer starts
        b = net.add_node(bootstrap=[a])
        start = net.now
        while not neighbours(net, a, b) and net.now - start < 5:
            net.run_for(0.1)
        self.assertTrue(neighbours(net, a, b), f"not joined in 5 s; A's counters {dict(net.node(a).stats)}")
        return net, a

    def test_newcomer_joins_during_a_flood_from_many_sources(self):
        sources = [(f"192.0.2.{i}", 4000 + i) for i in range(200)]
        net, a = self._newcomer_joins_during(sources)
        stats = net.node(a).stats
        self.assertGreater(stats["cookie_sent"], 1000)
        # the flood held no more of the table than an unproven source may
        self.assertLessEqual(len(net.node(a).links.handshakes.half_open), limits.HALF_OPEN_UNDER_LOAD + 1)

    def test_one_host_from_fifty_ports_holds_at_most_its_share(self):
        sources = [("192.0.2.7", 4000 + port) for port in range(50)]
        net, a = self._newcomer_joins_during(sources)
        half_open = net.node(a).links.handshakes.half_open
        self.assertLessEqual(half_open.per_host["192.0.2.7"], limits.HALF_OPEN_UNPROVEN_PER_SOURCE)
        # One host alone does not put A under load: another source still gets a RESP at once,
        # without the cookie round trip.
        other = ("192.0.2.99", 5000)
        answers = []
        net.taps.append(lambda src, dst, d: answers.append(d[1]) if dst == other else None)
        net.inject(forged_init(random.Random(6)), other, a)
        net.run_for(0.1)
        self.assertEqual(answers, [wire.FRAME_RESP])


class ReplayedInitTests(TestCase):
    def setUp(self):
        self.net = SimNetwork(seed=9)
        self.a = self.net.add_node()
        self.inits = []
        self.net.taps.append(lambda src, dst, d: self.inits.append(d) if d[1] == wire.FRAME_INIT else None)
        self.b = self.net.add_node(bootstrap=[self.a])
        self.net.run_for(0.001)  # b's first INIT is on the wire, not yet answered

    def _replay(self, datagram, source, times):
        sent_back = []
        self.net.taps.append(lambda src, dst, d: sent_back.append(d) if dst == source else None)
        for i in range(times):
            self.net.inject(datagram, source, self.a, delay=i * 0.01)
        self.net.run_for(times * 0.01 + 1)
        return sent_back

    def test_a_replayed_init_gets_no_second_resp_and_nothing_larger_than_itself(self):
        [init] = self.inits[:1]
        while not self.net.node(self.a).links.handshakes.half_open:  # a has answered b, once
            self.net.run_for(0.001)
        attacker = ("192.0.2.66", 5000)
        sent_back = self._replay(init, attacker, 200)
        self.assertFalse([d for d in sent_back if d[1] == wire.FRAME_RESP])
        self.assertLessEqual(sum(map(len, sent_back)), 200 * len(init))
        self.assertTrue(all(len(d) < len(init) for d in sent_back))
        # b's handshake was not disturbed, and a holds no state for the replays
        self.assertTrue(neighbours(self.net, self.a, self.b))
        self.assertEqual(len(self.net.node(self.a).links.handshakes.half_open), 0)

    def test_a_replayed_init_after_its_session_is_made_starts_nothing(self):
        self.net.run_for(3)
        [init] = self.inits[:1]
        before = self.net.node(self.a).stats["sessions_established"]
        sent_back = self._replay(init, self.b, 50)
        self.assertFalse([d for d in sent_back if d[1] == wire.FRAME_RESP])
        self.assertEqual(len(self.net.node(self.a).links.handshakes.half_open), 0)
        self.assertEqual(self.net.node(self.a).stats["sessions_established"], before)
        mid = self.net.broadcast(self.b, b"still neighbours")
        self.net.run_for(2)
        self.assertIn(self.a, self.net.reached(mid))


class CookieTests(TestCase):
    def test_a_cookie_proves_one_address_only_and_expires(self):
        secrets = CookieSecrets(random.Random(1))
        here, there = ("192.0.2.1", 7000), ("192.0.2.1", 7001)
        cookie = secrets.cookie(here, 0.0)
        self.assertTrue(secrets.valid(cookie, here, 0.0))
        self.assertFalse(secrets.valid(cookie, there, 0.0))
        self.assertTrue(secrets.valid(cookie, here, limits.COOKIE_SECRET_LIFETIME + 1))  # previous secret
        self.assertFalse(secrets.valid(cookie, here, 2 * limits.COOKIE_SECRET_LIFETIME + 1))

    def test_cookie_frame_is_smaller_than_any_init(self):
        init = forged_init(random.Random(2))
        reply = crypto.make_cookie_reply(init, 1, bytes(16))
        self.assertEqual(len(reply), crypto.COOKIE_FRAME_SIZE)
        self.assertLess(len(reply), len(init) // 3)

    def test_a_cookie_frame_not_echoing_our_init_is_ignored(self):
        net = SimNetwork(seed=2)
        a = net.add_node()
        net.run_for(0.5)
        inits = []
        net.taps.append(lambda src, dst, d: inits.append(d) if d[1] == wire.FRAME_INIT else None)
        b = net.add_node(bootstrap=[a])
        node_b = net.node(b)
        [hs] = node_b.links.handshakes.out.values()
        forged = crypto.make_cookie_reply(b"\x00" * 40, hs.sid, bytes(16))  # wrong INIT MAC echoed
        net.inject(forged, a, b)
        net.run_for(0.0001)
        self.assertEqual(node_b.stats["cookie_received"], 0)
        self.assertEqual(node_b.stats["drop_unknown_handshake"], 1)
