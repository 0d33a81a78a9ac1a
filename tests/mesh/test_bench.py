"""The overlay benchmark, small: the figures it prints meet the issue's targets at small N."""

import contextlib
import io

from twisted.trial.unittest import TestCase

from tests.mesh.helpers import load_bench


class OverlayBenchTests(TestCase):
    def test_small_run_meets_the_targets_and_prints_them(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            a, b, rows = load_bench("overlay_sim").main(["--small"])
        self.assertEqual(a["delivery"], 1.0)
        self.assertLessEqual(a["ratio_to_n_minus_1"], 1.2)
        self.assertGreaterEqual(b["delivery"], 0.999)
        self.assertGreaterEqual(b["unicast_delivery"], 0.999)
        # Views have fixed bounds, so per-node state and control traffic stay flat as N grows.
        first, last = rows[0], rows[-1]
        self.assertLessEqual(last["active_max"], 5)
        self.assertLessEqual(last["control_per_node_per_minute"], 1.5 * first["control_per_node_per_minute"])
        printed = out.getvalue()
        for marker in ("(a)", "(b)", "(c)", "delivery", "x (N-1)"):
            self.assertIn(marker, printed)
