"""A relay as the attacker: it carries the datagrams of an end-to-end session between two
servers that cannot reach each other, and may do anything with them. It can withhold them (the
origin then moves to another relay); it cannot read them, make the destination believe another
origin, change or replay them, or answer for the destination. Every relay in these networks is
hostile (each server but the two ends runs the real core with its relaying changed), so whatever
relay the origin picks attacks."""

import os
import random

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import crypto, limits, messages as m, wire
from nostrp2p.mesh.sim import LinkModel
from tests.mesh.helpers import grow
from tests.mesh.test_unicast_sim import _settle


def key_of(net, address) -> bytes:
    return net.node(address).identity.public_key


def carried(frame):
    """What a RELAYED frame carries (its last field)."""
    return frame[-1]


def with_carried(frame, payload):
    return type(frame)(*frame[:-1], payload)


def readable(payload):
    """What a relay can make of what it carries: the inner message, if it can read one."""
    if isinstance(payload, m.Message):
        return payload
    try:
        return m.decode(payload)
    except wire.MalformedFrame:
        return None  # sealed bytes


def forged_relayed(origin: bytes, origin_owner: bytes, message: m.Message):
    """The best RELAYED a relay can make claiming ``origin`` sent ``message``: the message
    itself where RELAYED carries messages, else the message in an unsealed DATA frame (it holds
    no key of the origin's session)."""
    if m.Relayed._fields[-1] == "inner":
        return m.Relayed(origin, origin_owner, message)
    header = wire.DATA_HEADER.pack(wire.MAGIC, wire.FRAME_DATA, 1, 1)
    return m.Relayed(origin, origin_owner, header + wire.pack(message.encode()) + bytes(wire.TAG_SIZE))


def make_relays_hostile(net, addresses, attack):
    """Each server in ``addresses`` passes every RELAYED it would hand over through
    ``attack(node, to, address, frame, now, send)`` instead (``send`` is its honest links.send)."""
    for address in addresses:
        node = net.node(address)
        honest = node.links.send

        def send(overlay_key, to_address, message, now, node=node, honest=honest):
            if isinstance(message, m.Relayed):
                attack(node, overlay_key, to_address, message, now, honest)
            else:
                honest(overlay_key, to_address, message, now)
        node.links.send = send


class RelayAttackTests(TestCase):
    def _blocked_pair(self, seed, size=12, link=LinkModel()):
        net, nodes = grow(size, seed=seed, link=link)
        a, b = nodes[3], nodes[9]
        net.block(a, b)
        return net, nodes, a, b, [n for n in nodes if n not in (a, b)]

    def test_a_relay_that_forges_the_origin_is_not_believed(self):
        net, nodes, a, b, relays = self._blocked_pair(seed=81)
        victim = nodes[0]

        def forge(node, to, address, frame, now, send):
            send(to, address, type(frame)(key_of(net, victim), net.owner_of(victim), *frame[2:]), now)

        make_relays_hostile(net, relays, forge)
        sent = net.unicast(a, net.owner_of(b), b"from a, whoever the relay says")
        _settle(net, [sent], limit=200)
        self.assertGreater(net.total("relayed"), 0)
        # Nothing was delivered under the forged origin (nor, since every relay forges, at all).
        self.assertEqual(net.messages[b], [])
        self.assertIsNotNone(sent.error)
        self.assertGreater(net.node(b).stats["drop_relayed_origin_forged"], 0)

    def test_a_relay_cannot_read_what_it_carries(self):
        net, nodes, a, b, relays = self._blocked_pair(seed=82, link=LinkModel(loss=0.01))
        secret = b"SECRET-a-to-b-42" * 200  # in every fragment
        seen = []  # every datagram a relay received, and everything it decrypted
        relay_addresses = set(relays)
        net.taps.append(lambda source, to, datagram: to in relay_addresses and seen.append(datagram))
        for address in relays:
            node = net.node(address)
            opened = node.receive_message

            def receive_message(peer, plaintext, now, opened=opened):
                seen.append(plaintext)
                opened(peer, plaintext, now)
            node.receive_message = receive_message
        sent = net.unicast(a, net.owner_of(b), secret)
        asked = net.request(b, net.owner_of(a), b"SECRET-question")
        _settle(net, [sent, asked], limit=200)
        self.assertIsNone(sent.error)
        self.assertEqual(net.messages[b], [(secret, net.owner_of(a))])
        self.assertEqual(asked.result, b"re:SECRET-question")
        self.assertGreater(net.total("relayed"), 0)
        self.assertEqual([d for d in seen if b"SECRET" in d], [])

    def test_a_relay_that_changes_what_it_carries_is_not_believed(self):
        net, nodes, a, b, relays = self._blocked_pair(seed=83)

        def tamper(node, to, address, frame, now, send):
            payload = carried(frame)
            if isinstance(payload, m.Fragment):
                payload = payload._replace(chunk=b"X" * len(payload.chunk))
            elif isinstance(payload, bytes) and payload[1:2] == bytes((wire.FRAME_DATA,)):
                payload = payload[:-1] + bytes((payload[-1] ^ 1,))  # one bit of the tag
            send(to, address, with_carried(frame, payload), now)

        make_relays_hostile(net, relays, tamper)
        sent = net.unicast(a, net.owner_of(b), b"as a wrote it")
        _settle(net, [sent], limit=200)
        self.assertGreater(net.total("relayed"), 0)
        self.assertEqual([p for p, _ in net.messages[b] if p != b"as a wrote it"], [])
        self.assertGreater(net.node(b).stats["drop_undecryptable"], 0)

    def test_a_relay_that_replays_what_it_carries_is_not_believed(self):
        net, nodes, a, b, relays = self._blocked_pair(seed=84)
        elsewhere = set()

        def replay(node, to, address, frame, now, send):
            for _ in range(3):  # to its destination, again and again
                send(to, address, frame, now)
            other = next(n for n in relays if net.node(n) is not node and key_of(net, n) != to)
            elsewhere.add(other)  # and to another server
            send(key_of(net, other), other, frame, now)

        make_relays_hostile(net, relays, replay)
        sent = net.unicast(a, net.owner_of(b), b"once")
        _settle(net, [sent], limit=200)
        net.run_for(5)
        self.assertIsNone(sent.error)
        self.assertEqual(net.messages[b], [(b"once", net.owner_of(a))])
        self.assertTrue(elsewhere)
        self.assertEqual([net.messages[n] for n in elsewhere], [[] for _ in elsewhere])
        self.assertGreater(net.node(b).stats["drop_replayed"], 0)

    def test_a_relay_cannot_acknowledge_for_the_destination(self):
        # The relays withhold everything meant for b and acknowledge in its name whatever they
        # can read: a must not take its message as delivered.
        net, nodes, a, b, relays = self._blocked_pair(seed=85)
        b_key = key_of(net, b)

        def withhold_and_ack(node, to, address, frame, now, send):
            if to != b_key:
                send(to, address, frame, now)
                return
            inner = readable(carried(frame))
            ack = m.FragmentAck(inner.mid, inner.index) if isinstance(inner, m.Fragment) \
                else m.FragmentAck(os.urandom(16), 0)
            send(frame.origin, None, forged_relayed(b_key, net.owner_of(b), ack), now)

        make_relays_hostile(net, relays, withhold_and_ack)
        sent = net.unicast(a, net.owner_of(b), b"never arrives")
        _settle(net, [sent], limit=300)
        self.assertEqual(net.messages[b], [])
        self.assertIsNotNone(sent.error)

    def test_a_reply_is_taken_only_from_the_session_the_request_went_to(self):
        # A member that learnt a request's id (as a relay that could read would) answers it
        # first, on its own session and in a RELAYED naming the destination: the request still
        # gets the destination's own reply.
        net, nodes, a, b, relays = self._blocked_pair(seed=86)
        origin = net.node(a)
        hostile = next(n for n in relays if origin.links.has_session(key_of(net, n)))
        replies = []
        mid = origin.request(net.owner_of(b), b"the question", net.now,
                             lambda error, reply, now: replies.append((error, reply)))
        forged = m.Fragment(os.urandom(16), 0, 1, m.KIND_REPLY, mid, b"forged answer")
        attacker = net.node(hostile)
        attacker.send(key_of(net, a), None, forged, net.now)
        attacker.send(key_of(net, a), None, forged_relayed(key_of(net, b), net.owner_of(b), forged),
                      net.now)
        deadline = net.now + 120
        while not replies and net.now < deadline:
            net.run_for(0.5)
        self.assertEqual(replies, [(None, b"re:the question")])
        self.assertGreater(origin.stats["drop_reply_unmatched"], 0)


def forged_init_from(origin: bytes, rng) -> bytes:
    """An INIT claiming ``origin``'s overlay key (anyone can make one on an open network; only
    the holder of its secret could complete the handshake)."""
    return crypto.make_init(crypto.ZERO_NETWORK_KEY, rng.randbytes(32), origin, rng.randbytes(32),
                            rng.randrange(1, 2 ** 32))


class RelayedHandshakeLoadTests(TestCase):
    """Handshakes that arrive through relays are held to the half-open bounds of PROTOCOL.md
    ("COOKIE") like any others: a relay counts as a source, and so does the origin it names."""

    def setUp(self):
        self.net, nodes = grow(10, seed=87)
        self.target = nodes[0]
        node = self.net.node(self.target)
        by_key = {key_of(self.net, n): n for n in nodes}
        self.members = [by_key[k] for k in node.membership.active]
        self.half_open = node.links.handshakes.half_open
        self.rng = random.Random(87)

    def _carry(self, member, origin, count):
        attacker = self.net.node(member)
        for _ in range(count):
            frame = m.Relayed(origin, self.rng.randbytes(32), forged_init_from(origin, self.rng))
            attacker.send(key_of(self.net, self.target), None, frame, self.net.now)
        self.net.run_for(0.2)

    def _still_answers_a_direct_newcomer(self):
        answers = []
        other = ("192.0.2.99", 5000)
        self.net.taps.append(lambda src, dst, d: answers.append(d[1]) if dst == other else None)
        self.net.inject(forged_init_from(self.rng.randbytes(32), self.rng), other, self.target)
        self.net.run_for(0.1)
        self.assertEqual(answers, [wire.FRAME_RESP])

    def test_one_relay_naming_many_origins_holds_at_most_a_sources_share(self):
        for _ in range(200):
            self._carry(self.members[0], self.rng.randbytes(32), 1)
        self.assertLessEqual(len(self.half_open), limits.HALF_OPEN_UNPROVEN_PER_SOURCE)
        self.assertGreater(self.net.node(self.target).stats["cookie_sent"], 100)
        self._still_answers_a_direct_newcomer()

    def test_one_origin_through_many_relays_holds_at_most_a_sources_share(self):
        origin = self.rng.randbytes(32)
        for member in self.members:
            self._carry(member, origin, 50)
        self.assertGreater(len(self.members), 1)
        self.assertLessEqual(len(self.half_open), limits.HALF_OPEN_UNPROVEN_PER_SOURCE)
        self._still_answers_a_direct_newcomer()
