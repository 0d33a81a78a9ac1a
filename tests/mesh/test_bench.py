"""The overlay benchmark, small: the figures it prints meet the issue's targets at small N."""

import contextlib
import importlib.util
import io
import os

from twisted.trial.unittest import TestCase

_BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "overlay_sim.py")


def _load():
    spec = importlib.util.spec_from_file_location("overlay_sim", _BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class OverlayBenchTests(TestCase):
    def test_small_run_meets_the_targets_and_prints_them(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            a, b, rows = _load().main(["--small"])
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
