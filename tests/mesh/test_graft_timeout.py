"""The wait before grafting follows the round trip measured to the announcer, within bounds."""

from twisted.trial import unittest

from nostrp2p.mesh import limits
from nostrp2p.mesh.graft_timeout import graft_timeout
from nostrp2p.mesh.arq import RoundTrip


def measured(*samples):
    round_trip = RoundTrip()
    for sample in samples:
        round_trip.sample(sample)
    return round_trip


class GraftTimeoutTests(unittest.TestCase):
    def test_unmeasured_announcers_get_the_default_wait(self):
        self.assertEqual(graft_timeout(None), limits.GRAFT_TIMEOUT_UNMEASURED)
        self.assertEqual(graft_timeout(RoundTrip()), limits.GRAFT_TIMEOUT_UNMEASURED)

    def test_the_wait_grows_with_the_round_trip_between_the_bounds(self):
        near = graft_timeout(measured(0.001, 0.001))
        middle = graft_timeout(measured(0.08, 0.08, 0.08))
        far = graft_timeout(measured(0.6, 0.6, 0.6))
        self.assertEqual(near, limits.GRAFT_TIMEOUT_MIN)
        self.assertTrue(limits.GRAFT_TIMEOUT_MIN < middle < limits.GRAFT_TIMEOUT, middle)
        self.assertEqual(far, limits.GRAFT_TIMEOUT)

    def test_a_jittery_path_waits_longer_than_a_steady_one(self):
        steady = graft_timeout(measured(0.05, 0.05, 0.05, 0.05))
        jittery = graft_timeout(measured(0.01, 0.09, 0.01, 0.09))
        self.assertGreater(jittery, steady)
