"""What a server agrees to pass on for others: its operator's bandwidth, a share per origin,
and a bound on the pairs it carries at once."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits
from nostrp2p.mesh.relay_allowance import RelayAllowance

A, B, C = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32
FRAME = 1000


def key(n: int) -> bytes:
    return n.to_bytes(32, "big")


class RelayAllowanceTests(TestCase):
    def test_zero_relays_nothing(self):
        self.assertEqual(RelayAllowance(0).refusal(A, B, FRAME, 0.0), "drop_relay_disabled")

    def test_one_origin_gets_its_share_and_no_more(self):
        allowance = RelayAllowance()
        per_second = limits.RELAY_BYTES_PER_SECOND_PER_ORIGIN // FRAME
        for _ in range(per_second):
            self.assertIsNone(allowance.refusal(A, B, FRAME, 10.0))
        self.assertEqual(allowance.refusal(A, B, FRAME, 10.5), "drop_relay_over_bandwidth")
        self.assertIsNone(allowance.refusal(C, B, FRAME, 10.5))  # others still get theirs
        self.assertIsNone(allowance.refusal(A, B, FRAME, 11.0))  # and A again the next second

    def test_the_operators_total_is_shared_by_every_origin(self):
        allowance = RelayAllowance(bytes_per_second=10 * FRAME)
        for n in range(10):
            self.assertIsNone(allowance.refusal(key(n), B, FRAME, 0.0))
        self.assertEqual(allowance.refusal(key(99), B, FRAME, 0.5), "drop_relay_over_bandwidth")
        self.assertIsNone(allowance.refusal(key(99), B, FRAME, 1.0))

    def test_pairs_per_origin_are_bounded_until_one_goes_idle(self):
        allowance = RelayAllowance()
        for n in range(limits.RELAY_PAIRS_PER_ORIGIN):
            self.assertIsNone(allowance.refusal(A, key(n), 10, float(n)))
        self.assertEqual(allowance.refusal(A, key(1000), 10, 20.0), "drop_relay_pairs_full")
        self.assertIsNone(allowance.refusal(A, key(3), 10, 20.0))  # pairs it holds go on
        self.assertIsNone(allowance.refusal(C, key(1000), 10, 20.0))  # others are not held up
        # Pair 0 was last used at 0: once idle, its place is free.
        self.assertIsNone(allowance.refusal(A, key(1000), 10, limits.RELAY_PAIR_IDLE))

    def test_pairs_in_all_are_bounded(self):
        allowance = RelayAllowance()
        for n in range(limits.RELAY_PAIRS_MAX):
            self.assertIsNone(allowance.refusal(key(n), B, 10, 0.0))
        self.assertEqual(allowance.refusal(A, B, 10, 1.0), "drop_relay_pairs_full")
        self.assertEqual(len(allowance.pairs), limits.RELAY_PAIRS_MAX)
        self.assertIsNone(allowance.refusal(A, B, 10, limits.RELAY_PAIR_IDLE))
        self.assertEqual(len(allowance.pairs), 1)  # the idle ones were let go
