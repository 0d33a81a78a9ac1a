"""Whatever arrives on the socket, the core drops and counts it; it never raises."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import wire
from nostrp2p.mesh.identity import Identity
from nostrp2p.mesh.core import OverlayConfig, OverlayNode
from tests.mesh.helpers import grow


def _node():
    node = OverlayNode(Identity.from_private(bytes(range(32)), bytes(32)), OverlayConfig(), random.Random(1))
    node.start(0.0)
    return node


frames = st.one_of(
    st.binary(max_size=1300),
    st.builds(lambda kind, body: bytes([wire.MAGIC, kind]) + body, st.integers(0, 255), st.binary(max_size=300)),
)


class FuzzTests(TestCase):
    @settings(max_examples=300, deadline=None)
    @given(frames)
    def test_random_datagrams_are_dropped_and_counted(self, datagram):
        node = _node()
        node.datagram_received(datagram, ("127.0.0.1", 9), 1.0)
        node.tick(2.0)
        drops = sum(v for k, v in node.stats.items() if k.startswith("drop_"))
        self.assertEqual(drops, 1)


_field = st.one_of(st.none(), st.booleans(), st.integers(-2, 2**33), st.binary(max_size=40),
                   st.text(max_size=10), st.lists(st.binary(max_size=33), max_size=3))


class HostileUnicastMessages(TestCase):
    """Inner unicast and routing messages of any shape from an authenticated peer are refused as
    malformed or handled; no handler fails, and the node keeps working."""

    def setUp(self):
        self.net, self.nodes = grow(3, seed=51, settle=10)
        self.node = self.net.node(self.nodes[0])
        self.peer = next(iter(self.node.links.peers.values()))

    @settings(max_examples=400, deadline=None)
    @given(st.sampled_from([wire.MSG_FIND, wire.MSG_FOUND, wire.MSG_UNICAST, wire.MSG_UNICAST_ACK,
                            wire.MSG_RELAY, wire.MSG_RELAYED, wire.MSG_RELAY_REFUSED,
                            wire.MSG_WHOAMI, wire.MSG_YOU_ARE,
                            wire.MSG_PUNCH_REQUEST, wire.MSG_PUNCH]),
           st.lists(_field, max_size=8))
    def test_any_shape_is_refused_or_handled(self, message_type, fields):
        self.node.receive_message(self.peer, wire.pack([message_type, *fields]), self.net.now)
        self.assertEqual(self.node.stats["handler_failed"], 0)  # decoding caught every shape
        outcome = self.net.unicast(self.nodes[1], self.net.owner_of(self.nodes[0]), b"still works")
        self.net.run_for(3)
        self.assertIsNone(outcome.error)
