"""A victim named as origin: hostile servers broadcast "share" requests naming an honest
victim as their origin, with the real node above every honest server. What the victim receives
because of them stays within the bound of docs/THREATS.md (one copy per neighbour, nothing
sent to the origin), like any bystander's (before, every server answered the victim with the
events it held: a 40-byte broadcast drew kilobytes from each)."""

from twisted.trial.unittest import TestCase

from tests.mesh.adversarial import bench, small


class NamedVictimTests(TestCase):
    def test_the_victim_receives_no_more_than_the_bound(self):
        result, scenario, _ = bench().run(small("victim"))
        self.assertGreater(result["hostile_broadcasts"], 30)
        self.assertGreater(result["victim_bytes"], 0)
        self.assertLessEqual(result["victim_bytes"], result["victim_bound"])
        self.assertLessEqual(result["victim_bytes"], 2 * result["bystander_bytes"])
