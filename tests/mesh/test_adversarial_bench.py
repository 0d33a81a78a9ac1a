"""The adversarial benchmark, small (40 servers, four of them hostile, 1% loss): the figures it
prints meet the targets of docs/THREATS.md."""

import contextlib
import io

from twisted.trial.unittest import TestCase

from tests.mesh.adversarial import bench


class AdversarialBenchTests(TestCase):
    def test_small_run_meets_the_targets_and_prints_them(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            result = bench().main(["--small"])
        self.assertGreaterEqual(result["unicast_delivery"], 0.999)
        self.assertGreaterEqual(result["broadcast_delivery"], 0.999)
        self.assertLessEqual(result["victim_bytes"], result["victim_bound"])
        self.assertEqual(result["unicasts_stolen"], 0)
        self.assertEqual(result["forged_believed"], 0)
        for marker in ("unicast delivery", "broadcast delivery", "victim bytes", "x the bound"):
            self.assertIn(marker, out.getvalue())
