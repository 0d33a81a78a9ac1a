"""Poisoned descriptors: hostile servers answer every FIND saying that the sought owner, and
other honest owners, are served by hostile overlay keys (and name hostile relays), and shuffle
samples claiming honest owners for hostile keys into their neighbours' views. Unicasts to honest
owners still reach their own servers (before owner bindings, a descriptor was believed: the last
one told became the contact, and mentions went to a hostile server)."""

from twisted.trial.unittest import TestCase

from tests.mesh.adversarial import run


class PoisonedDescriptorTests(TestCase):
    def test_unicasts_reach_the_owners_own_servers(self):
        result = run("poison")
        self.assertGreater(result["attacks"]["feed poisoned descriptors"][1], 20)
        self.assertEqual(result["unicasts_stolen"], 0)
        self.assertEqual(result["unicast_delivery"], 1.0)
