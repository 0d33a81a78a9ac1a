"""Unicast through peers when two servers cannot exchange datagrams directly."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import crypto, limits, messages as m, wire
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.errors import Unreachable
from nostrp2p.mesh.relay_allowance import RelayAllowance
from nostrp2p.mesh.relay_path import is_relayed
from nostrp2p.mesh.sim import LinkModel
from tests.mesh.helpers import grow
from tests.mesh.test_unicast_sim import _settle


class RelayTests(TestCase):
    def test_blocked_pair_talks_through_a_relay_both_ways(self):
        net, nodes = grow(30, seed=61, link=LinkModel(loss=0.01, jitter=0.02))
        a, b = nodes[5], nodes[23]
        net.block(a, b)
        there = net.unicast(a, net.owner_of(b), b"x" * 5000)
        asked = net.request(b, net.owner_of(a), b"and back?")
        _settle(net, [there, asked])
        self.assertIsNone(there.error)
        self.assertEqual(net.messages[b], [(b"x" * 5000, net.owner_of(a))])
        self.assertEqual((asked.error, asked.result), (None, b"re:and back?"))
        self.assertGreater(net.total("relayed"), 0)
        self.assertFalse(net.node(a).links.has_session(net.node(b).identity.public_key))

    def test_servers_that_do_not_relay_are_passed_over(self):
        net, nodes = grow(30, seed=64)
        a, b = nodes[5], nodes[23]
        net.block(a, b)
        # The first two relays a will try (servers that named b to it, then its neighbours)
        # relay nothing for anyone.
        origin, b_key = net.node(a), net.node(b).identity.public_key
        # b is an unbound owner: a looks it up before its first message (docs/PROTOCOL.md),
        # and the servers that answer are the relays it tries first.
        origin.router.locate(net.owner_of(b), net.now, lambda desc, now: None)
        net.run_for(5)
        candidates = list(origin.reachability.hints.get(b_key, ())) + list(origin.membership.active.values())
        by_key = {net.node(n).identity.public_key: n for n in nodes}
        unwilling = [by_key[d.overlay_key] for d in candidates if d.overlay_key != b_key][:2]
        for server in unwilling:
            net.node(server).relay.allowance = RelayAllowance(bytes_per_second=0)
        there = net.unicast(a, net.owner_of(b), b"through one that agreed")
        _settle(net, [there], limit=300)
        self.assertIsNone(there.error)
        self.assertEqual(net.messages[b], [(b"through one that agreed", net.owner_of(a))])
        self.assertGreater(net.total("relayed"), 0)
        self.assertEqual(sum(net.node(n).stats["relayed"] for n in unwilling), 0)
        self.assertGreater(sum(net.node(n).stats["drop_relay_disabled"] for n in unwilling), 0)
        # Each unwilling relay said so, and the message moved on at once: the only
        # retransmissions were those of the direct attempt, none waited on a refusing relay.
        self.assertEqual(origin.stats["relay_refused"], 2)
        self.assertLessEqual(origin.stats["unicast_retransmitted"], limits.REHANDSHAKE_AFTER_TRIES)

    def test_a_relayed_message_is_acknowledged_through_the_relay_over_a_stale_session(self):
        # b still holds a session with a that a has lost (a restart, a changed NAT mapping):
        # a relays, and b's acknowledgements must come back through the relay, not be sent on
        # into the stale session.
        net, nodes = grow(20, seed=65)
        a, b = nodes[3], nodes[14]
        a_key, b_key = (net.node(n).identity.public_key for n in (a, b))
        first = net.unicast(a, net.owner_of(b), b"while the path is open")
        _settle(net, [first])
        self.assertTrue(net.node(b).links.has_session(a_key))
        net.block(a, b)
        net.node(a).links.forget(b_key)
        second = net.unicast(a, net.owner_of(b), b"through a relay")
        _settle(net, [second], limit=300)
        self.assertIsNone(second.error)
        self.assertEqual([m for m, _ in net.messages[b]],
                         [b"while the path is open", b"through a relay"])
        self.assertGreater(net.total("relayed"), 0)

    def test_unreachable_when_no_path_at_all(self):
        net, nodes = grow(20, seed=62)
        lonely = nodes[9]
        for other in nodes:
            if other != lonely:
                net.block(lonely, other)
        net.run_for(5)
        outcome = net.unicast(nodes[2], net.owner_of(lonely), b"anyone?")
        _settle(net, [outcome], limit=300)
        self.assertIsInstance(outcome.error, Unreachable)

    def test_a_relay_refuses_loops_and_floods(self):
        net, nodes = grow(5, seed=63, settle=10)
        relay = net.node(nodes[0])
        peer = next(iter(relay.links.peers.values()))
        me = relay.identity.public_key
        inner = bytes((wire.MAGIC, wire.FRAME_DATA)) + bytes(40)  # a sealed datagram, to a relay
        relay.receive_message(peer, wire.pack([wire.MSG_RELAY, b"\x02" * 32, b"\x03" * 32, 2,
                                               [peer.overlay_key, me], peer.owner, inner]), net.now)
        self.assertEqual(relay.stats["drop_relay_loop"], 1)
        for _ in range(limits.RELAY_BUDGET_PER_SECOND + 5):
            relay.receive_message(peer, wire.pack([wire.MSG_RELAY, b"\x02" * 32, b"\x03" * 32, 1,
                                                   [peer.overlay_key], peer.owner, inner]), net.now)
        self.assertEqual(relay.stats["drop_relay_over_budget"], 5)

    def test_a_full_fragment_fits_through_a_relay_path_of_the_most_hops(self):
        # Sealed end to end, in a RELAY with a full path, sealed again for the first relay: a
        # fragment of FRAGMENT_SIZE (a reply, the largest index) stays within MAX_DATAGRAM, so
        # a message may move onto a relay in its middle.
        key = bytes(32)
        session = crypto.Session(1, 2, key, key, key, key, 0.0, True)
        session.send_counter = 2 ** 40
        fragment = m.Fragment(b"m" * 16, m.MOST_FRAGMENTS - 1, m.MOST_FRAGMENTS, m.KIND_REPLY,
                              b"r" * 16, b"c" * limits.FRAGMENT_SIZE)
        carried = session.seal(wire.pack(fragment.encode()))
        self.assertLessEqual(len(carried), limits.MAX_RELAYED_DATAGRAM)
        relay = m.Relay(key, key, limits.MAX_RELAY_HOPS, (key,) * limits.MAX_RELAY_HOPS, key,
                        bytes(limits.MAX_RELAYED_DATAGRAM))
        self.assertLessEqual(len(session.seal(wire.pack(relay.encode()))), limits.MAX_DATAGRAM)
        self.assertEqual(m.decode(wire.pack(relay.encode())), relay)

    def test_a_pair_falls_back_to_a_relay_and_returns_to_a_direct_path(self):
        # One end-to-end session follows its path: a direct path that dies gives way to a relay,
        # and once the two can reach each other again an introduction makes them direct again.
        net, nodes = grow(20, seed=66)
        a, b = nodes[4], nodes[15]
        b_key = net.node(b).identity.public_key
        first = net.unicast(a, net.owner_of(b), b"direct")
        _settle(net, [first])
        self.assertTrue(net.node(a).links.has_session(b_key))
        net.block(a, b)
        second = net.unicast(a, net.owner_of(b), b"through a relay")
        _settle(net, [second], limit=300)
        self.assertIsNone(second.error)
        self.assertTrue(is_relayed(net.node(a).links.address_of(b_key)))
        self.assertEqual(net.message_sessions[b], [net.node(a).identity.public_key] * 2)
        net.unblock(a, b)
        net.run_for(limits.PUNCH_RETRY_INTERVAL)
        third = net.unicast(a, net.owner_of(b), b"direct again")
        _settle(net, [third])
        self.assertIsNone(third.error)
        net.run_for(limits.HANDSHAKE_TIMEOUT * limits.HANDSHAKE_ATTEMPTS)
        self.assertTrue(net.node(a).links.has_session(b_key))
        self.assertEqual([p for p, _ in net.messages[b]], [b"direct", b"through a relay", b"direct again"])

    def test_a_relay_that_cannot_reach_the_destination_passes_the_datagram_on(self):
        # a's relay r1 has no way to b: the handshake goes on to a server nearer b's key (a
        # second hop), and the session then follows the path b's answers came back on.
        net, nodes = grow(20, seed=90)
        a, b = nodes[5], nodes[15]
        origin, b_key = net.node(a), net.node(b).identity.public_key
        net.block(a, b)
        r1_key = next(iter(origin.membership.active))
        r1 = next(n for n in nodes if net.node(n).identity.public_key == r1_key)
        first_relay = net.node(r1)
        net.block(r1, b)
        first_relay.links.forget(b_key)
        first_relay.router.table.remove(b_key)
        origin.reachability.routes.keep(b_key, Descriptor(r1_key, first_relay.identity.owner_key, *r1))
        origin.reachability.note_owner(b_key, net.owner_of(b))
        passed_on = []
        honest = first_relay.links.send

        def send(overlay_key, address, message, now):
            passed_on.append(type(message))
            honest(overlay_key, address, message, now)
        first_relay.links.send = send
        there = net.unicast(a, net.owner_of(b), b"two hops")
        back = net.request(b, net.owner_of(a), b"and back")
        _settle(net, [there, back], limit=200)
        self.assertIn(m.Relay, passed_on)
        self.assertIsNone(there.error)
        self.assertEqual(net.messages[b], [(b"two hops", net.owner_of(a))])
        self.assertEqual(net.message_sessions[b], [origin.identity.public_key])
        self.assertEqual((back.error, back.result), (None, b"re:and back"))


class DownServerTests(TestCase):
    def test_a_server_that_falls_silent_is_sought_through_two_relays_per_message(self):
        # b was reached directly and then crashed: each message to it costs a direct attempt
        # and RELAY_SILENT_MAX relayed ones, not one through every relay a knows; the next
        # message goes on with relays not tried yet.
        net, nodes = grow(20, seed=91)
        a, b = nodes[5], nodes[15]
        origin = net.node(a)
        first = net.unicast(a, net.owner_of(b), b"while it is up")
        _settle(net, [first], limit=60)
        self.assertIsNone(first.error)
        b_key = net.node(b).identity.public_key
        self.assertIn(b_key, origin.reachability.direct)
        known = len(origin.reachability.hints.get(b_key, ())) + len(origin.membership.active)
        self.assertGreater(known, limits.RELAY_SILENT_MAX)  # more relays than it may try
        net.crash(b)
        tried = []
        for payload in (b"lost", b"lost again"):
            chosen = origin.stats["relay_route_chosen"]
            gone = net.unicast(a, net.owner_of(b), payload)
            _settle(net, [gone], limit=300)
            self.assertIsInstance(gone.error, Unreachable)
            relays = origin.stats["relay_route_chosen"] - chosen
            self.assertLessEqual(relays, limits.RELAY_SILENT_MAX)
            tried.append(set(origin.reachability.tried.get(b_key, ())))
        self.assertEqual(origin.stats["relay_routes_given_up"], 2)
        self.assertLess(tried[0], tried[1])  # the second message went on with other relays
