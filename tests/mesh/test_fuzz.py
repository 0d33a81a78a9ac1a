"""Whatever arrives on the socket, the core drops and counts it; it never raises."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import wire
from nostrp2p.mesh.identity import Identity
from nostrp2p.mesh.node import OverlayConfig, OverlayNode


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
