"""systemd/nostrp2p.service is a valid, hardened unit that runs the installed server."""

import shutil
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SkipTest, TestCase

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "nostrp2p.service"
INSTALLED_TWISTD = "/opt/nostrp2p/.venv/bin/twistd"

HARDENING = [
    "DynamicUser=yes", "StateDirectory=nostrp2p", "NoNewPrivileges=yes", "ProtectSystem=strict",
    "ProtectHome=yes", "PrivateTmp=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "MemoryMax=",
]


class SystemdUnitTests(TestCase):
    def test_runs_twistd_with_the_shipped_config_and_is_hardened(self):
        text = UNIT.read_text()
        self.assertIn(f"ExecStart={INSTALLED_TWISTD} --nodaemon --pidfile= nostrp2p "
                      "--config /etc/nostrp2p/nostrp2p.conf", text)
        for line in HARDENING:
            self.assertIn("\n" + line, text)

    def test_systemd_analyze_verify_passes(self):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            raise SkipTest("systemd-analyze is not installed here")
        twistd = Path(sys.executable).parent / "twistd"
        if not twistd.exists():
            raise SkipTest(f"no twistd beside {sys.executable} to stand in for {INSTALLED_TWISTD}")
        # The unit names the installed path; verify checks that ExecStart exists, so point it at
        # this venv's twistd (nothing else of the unit changes).
        unit = Path(self.mktemp())
        unit.mkdir()
        copy = unit / "nostrp2p.service"
        copy.write_text(UNIT.read_text().replace(INSTALLED_TWISTD, str(twistd)))
        result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True,
                                timeout=60)
        problems = [line for line in (result.stdout + result.stderr).splitlines()
                    if "nostrp2p.service" in line]
        self.assertEqual((result.returncode, problems), (0, []), result.stderr)
