"""Impostors: hostile servers whose handshakes claim an honest owner's key, and who keep
sending FINDs for it to every honest server they know. Mentions of that owner still reach
its own server, and none reaches an impostor (before owner bindings on the overlay, the last
claimant was the contact: a mention went to the impostor, was acknowledged there and never
resent)."""

from twisted.trial.unittest import TestCase

from tests.mesh.adversarial import run


class ClaimedOwnerTests(TestCase):
    def test_mentions_of_a_claimed_owner_reach_its_own_server(self):
        result = run("claim")
        self.assertGreater(result["attacks"]["claim another owner"][1], 0)
        self.assertGreater(result["unicasts_to_targeted"], 20)
        self.assertEqual(result["unicasts_stolen"], 0)
        self.assertEqual(result["targeted_delivery"], 1.0)
        self.assertEqual(result["unicast_delivery"], 1.0)
