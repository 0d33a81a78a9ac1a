"""A simulated run repeats itself, datagram for datagram, in any process: the benchmarks compare
two modes across a fork and across runs, and a test's fixed seed must mean one course. Python
hashes bytes and strings with a seed of its own per process, so nothing the nodes send may go
out in the order of a set of keys."""

import os
import subprocess
import sys

from twisted.trial.unittest import TestCase

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")

# 30 servers, broadcasts at 5% loss (lost eager pushes make Plumtree repair its tree, which
# walks its eager and lazy peers), then what every server sent and when each post arrived.
RUN = """
from nostrp2p.mesh.sim import LinkModel
from tests.mesh.helpers import grow
net, nodes = grow(30, seed=4, link=LinkModel(loss=0.05), settle=20)
mids = [net.broadcast(nodes[i], b"post %d" % i) for i in range(0, 30, 3)]
net.run_for(20)
print(net.datagrams_sent, [sorted(net.deliveries[mid].values()) for mid in mids])
"""


def run_with_hash_seed(seed):
    env = dict(os.environ, PYTHONHASHSEED=str(seed), PYTHONPATH=os.path.abspath(ROOT))
    done = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    return done.stdout


class SimulationRepeatsTests(TestCase):
    def test_a_broadcast_run_is_the_same_whatever_the_hash_seed(self):
        first = run_with_hash_seed(1)
        self.assertIn("[", first)
        for seed in (2, 3):
            self.assertEqual(run_with_hash_seed(seed), first, f"PYTHONHASHSEED={seed}")
