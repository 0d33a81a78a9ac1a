"""Forged relayed origins: hostile servers write RELAYED frames naming honest servers as the
origin of a mention, and RELAY frames whose path starts at an honest server for an honest
relay to carry. No honest server hands such a mention up as coming from the owner it names,
and mentions to the named owners still arrive (before end-to-end sessions through relays, the
receiver believed the origin the forger wrote)."""

from twisted.trial.unittest import TestCase

from tests.mesh.adversarial import run


class ForgedRelayedTests(TestCase):
    def test_a_forged_origin_is_never_believed(self):
        result = run("forge")
        self.assertGreater(result["attacks"]["forge relayed origins"][1], 100)
        self.assertEqual(result["forged_believed"], 0)
        self.assertEqual(result["targeted_delivery"], 1.0)
        self.assertEqual(result["unicast_delivery"], 1.0)
