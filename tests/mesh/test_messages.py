"""Every inner message has one typed shape (nostrp2p.mesh.messages): each type of PROTOCOL.md's
table round-trips, and every malformed shape from an authenticated peer is dropped and counted
in one place, before any handler sees it."""

import os
import re

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, messages as m, wire
from nostrp2p.mesh.descriptor import Descriptor
from tests.mesh.helpers import grow

K1, K2, K3 = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
MID = b"\x04" * 16
DESC = Descriptor(K1, K2, "192.0.2.10", 7000)
DESC6 = Descriptor(K2, K3, "2001:db8::1", 7001)
FRAGMENT = m.Fragment(MID, 1, 3, m.KIND_REQUEST, None, b"chunk")
DATAGRAM = bytes((wire.MAGIC, wire.FRAME_DATA)) + bytes(40)  # what a relay carries: sealed bytes

SAMPLES = [
    m.Ping(), m.Close(), m.Claim(b"a binding", True), m.Claim(None, False), m.Join(), m.JoinAccept(), m.ForwardJoin(DESC, 3), m.Neighbor(True),
    m.NeighborReply(False), m.Disconnect(), m.Shuffle(None, 6, (DESC, DESC6)),
    m.Shuffle(DESC, 2, ()), m.ShuffleReply((DESC6,)), m.Gossip(MID, K1, b"8 bytes!", 5, b"payload"),
    m.IHave((MID, b"\x05" * 16)), m.Graft(MID), m.Prune(), m.Find(7, K1), m.Find(8, K2, (DESC,)),
    m.Found(7, (DESC, DESC6)), m.Found(8, (), (DESC,)), FRAGMENT,
    m.Found(9, (Descriptor(K1, K2, "192.0.2.10", 7000, b"a binding"), DESC6)),
    m.Fragment(MID, 0, 1, m.KIND_REPLY, b"\x06" * 16, b""), m.FragmentAck(MID, 2),
    m.Relay(K1, K2, 3, (K3,), K2, DATAGRAM), m.Relayed(K1, K2, DATAGRAM),
    m.RelayRefused(K3), m.WhoAmI(), m.YouAre("198.51.100.7", 40000), m.PunchRequest(K1),
    m.Punch(K1, K2, "::1", 7000),
]

HOSTNAME = [K1, K2, "relay.example", 7000]
MALFORMED = {  # what each bad shape breaks
    "descriptor host is a name": [wire.MSG_FORWARD_JOIN, HOSTNAME, 3],
    "sample host is a name": [wire.MSG_SHUFFLE_REPLY, [DESC.encode(), HOSTNAME]],
    "FOUND names a host": [wire.MSG_FOUND, 1, [HOSTNAME]],
    "FOUND binding too large": [wire.MSG_FOUND, 1, [DESC.encode() + [b"b" * (limits.MAX_BINDING_SIZE + 1)]]],
    "sample descriptor with a binding": [wire.MSG_SHUFFLE_REPLY, [DESC.encode() + [b"binding"]]],
    "CLAIM binding too large": [wire.MSG_CLAIM, b"b" * (limits.MAX_BINDING_SIZE + 1), True],
    "CLAIM without answer flag": [wire.MSG_CLAIM, b"binding"],
    "FIND relay names a host": [wire.MSG_FIND, 1, K1, [HOSTNAME]],
    "YOU_ARE host is a name": [wire.MSG_YOU_ARE, "localhost", 7000],
    "PUNCH host is a name": [wire.MSG_PUNCH, K1, K2, "nat.example", 7000],
    "PUNCH port 0": [wire.MSG_PUNCH, K1, K2, "192.0.2.1", 0],
    "port out of range": [wire.MSG_YOU_ARE, "192.0.2.1", 70000],
    "key of 31 bytes": [wire.MSG_PUNCH_REQUEST, K1[:31]],
    "mid as text": [wire.MSG_GRAFT, "x" * 16],
    "too many ids": [wire.MSG_IHAVE, [MID] * (limits.MAX_IHAVE_IDS + 1)],
    "too many descriptors": [wire.MSG_FOUND, 1, [DESC.encode()] * (limits.MAX_FOUND_DESCRIPTORS + 1)],
    "hops over the bound": [wire.MSG_GOSSIP, MID, K1, b"saltsalt", limits.MAX_HOPS + 1, b""],
    "ttl over the walk": [wire.MSG_FORWARD_JOIN, DESC.encode(), limits.ACTIVE_RANDOM_WALK + 1],
    "flag as a number": [wire.MSG_NEIGHBOR, 1],
    "number as a flag": [wire.MSG_FIND, True, K1],
    "unknown fragment kind": [wire.MSG_UNICAST, MID, 0, 1, 5, None, b""],
    "index past count": [wire.MSG_UNICAST, MID, 2, 2, 0, None, b""],
    "chunk too large": [wire.MSG_UNICAST, MID, 0, 1, 0, None, b"x" * (limits.MAX_FRAGMENT_CHUNK + 1)],
    "too few fields": [wire.MSG_GOSSIP, MID, K1, b"saltsalt", 0],
    "too many fields": [wire.MSG_PING, 1],
    "relay carries a message in clear": [wire.MSG_RELAY, K1, K2, 1, [K3], K2, FRAGMENT.encode()],
    "relay with no path": [wire.MSG_RELAY, K1, K2, 1, [], K2, DATAGRAM],
    "relayed datagram too large": [wire.MSG_RELAYED, K1, K2, bytes(limits.MAX_RELAYED_DATAGRAM + 1)],
    "not an array": {"type": 1},
    "type is not a number": ["ping"],
}


class RoundTripTests(TestCase):
    def test_every_type_of_the_protocol_table_round_trips(self):
        self.assertEqual({type(s) for s in SAMPLES}, set(m.types().values()))
        for sample in SAMPLES:
            self.assertEqual(m.decode(wire.pack(sample.encode())), sample)

    def test_the_table_in_protocol_md_is_the_decoder_table(self):
        path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "PROTOCOL.md")
        with open(path, encoding="utf-8") as handle:
            rows = re.findall(r"^\| (\d+) \| ([A-Z_]+) \|", handle.read(), re.MULTILINE)
        documented = {int(number): name for number, name in rows}
        self.assertEqual(set(documented), set(m.types()))
        for number, name in documented.items():
            self.assertEqual(getattr(wire, f"MSG_{name}"), number)

    def test_each_malformed_shape_is_refused(self):
        for what, fields in MALFORMED.items():
            self.assertRaises(wire.MalformedFrame, m.decode, wire.pack(fields))


class DroppedAndCountedTests(TestCase):
    """From an authenticated peer, a malformed message reaches no handler and is counted once."""

    def setUp(self):
        self.net, self.nodes = grow(3, seed=41, settle=10)
        self.node = self.net.node(self.nodes[0])
        self.peer = next(p for p in self.node.links.peers.values() if p.current is not None)

    def test_malformed_messages_are_dropped_and_counted(self):
        seen = []
        for message_class in m.types().values():
            self.node.handle(message_class, lambda peer, message, now: seen.append(message))
        for what, fields in MALFORMED.items():
            before = self.node.stats["drop_malformed"]
            self.node.receive_message(self.peer, wire.pack(fields), self.net.now)
            self.assertEqual(self.node.stats["drop_malformed"], before + 1, what)
        self.node.receive_message(self.peer, wire.pack([99, 1, 2]), self.net.now)
        self.assertEqual(self.node.stats["drop_unknown_message_type"], 1)
        self.assertEqual(seen, [])
        self.assertEqual(self.node.stats["handler_failed"], 0)
