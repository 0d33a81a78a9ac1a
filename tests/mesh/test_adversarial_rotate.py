"""Rotating origins: hostile servers broadcast events from fresh authors under a fresh claimed
origin each time, with the real node above every honest server and a small per-neighbour event
budget. No honest server keeps more of them than its neighbours' budgets allow (before, the
budget was keyed by the claimed origin, and each fresh one came with a full budget)."""

from twisted.trial.unittest import TestCase

from nostrp2p.node.node import NodeSettings
from tests.mesh.adversarial import bench, small


class RotatingOriginTests(TestCase):
    def test_no_server_keeps_more_than_its_neighbours_budgets(self):
        plan = small("rotate", rotations_per_round=5)
        result, _, _ = bench().run(plan, NodeSettings(peer_events_per_minute=5))
        self.assertGreater(result["hostile_broadcasts"], 200)
        self.assertGreater(result["rotating_kept_most"], 0)
        self.assertLessEqual(result["rotating_kept_most"], result["rotating_budget"])
