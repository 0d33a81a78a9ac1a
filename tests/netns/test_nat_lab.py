"""Real Linux NATs in network namespaces: what our STUN client learns through them.

This is the ground truth the overlay's NAT traversal is built on: behind a cone NAT a socket
keeps one public port whoever it talks to; behind a symmetric NAT each destination sees a
different one.
"""

import select
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.netns.lab import PUBLIC_ADDRESS, ROUTERS, NatLab, lab_for

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def python_in(lab: NatLab, namespace: str, script: str, *args: str) -> list[str]:
    env_python = [sys.executable, str(HERE / script), *args]
    return lab.exec_argv(namespace, ["env", f"PYTHONPATH={REPO}", *env_python])


class NatLabTests(TestCase):
    def setUp(self):
        self.lab = lab_for(self)
        self.server = subprocess.Popen(
            python_in(self.lab, "public", "stun_server.py", PUBLIC_ADDRESS, "3478", "3479"),
            stdout=subprocess.PIPE, text=True,
        )
        self.addCleanup(self._stop_server)
        ready, _, _ = select.select([self.server.stdout], [], [], 20)
        line = self.server.stdout.readline() if ready else ""
        if line.strip() != "ready":
            self.fail(f"STUN server did not start within 20 s: {line!r}")

    def _stop_server(self):
        self.server.kill()
        self.server.wait(timeout=10)

    def probe(self, host: str) -> list[tuple[str, int]]:
        result = subprocess.run(
            python_in(self.lab, host, "stun_probe.py", f"{PUBLIC_ADDRESS}:3478", f"{PUBLIC_ADDRESS}:3479"),
            capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.split()
        self.assertNotIn("timeout", lines)
        return [(h, int(p)) for h, p in (line.rsplit(":", 1) for line in lines)]

    def test_cone_nat_keeps_one_public_port_for_every_destination(self):
        first, second = self.probe("host-a")
        self.assertEqual(first[0], ROUTERS[0].wan)  # the router's public address, not 198.19.1.2
        self.assertEqual(first, second)

    def test_symmetric_nat_gives_each_destination_its_own_port(self):
        first, second = self.probe("host-s")
        self.assertEqual((first[0], second[0]), (ROUTERS[2].wan, ROUTERS[2].wan))
        self.assertNotEqual(first[1], second[1])

    def test_teardown_leaves_nothing_behind(self):
        names = list(self.lab.namespaces)
        self.lab.destroy()
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        for name in names:
            self.assertNotIn(name, listed)
