"""`twistd nostrp2p` is found by Twisted's plugin system, in-process and as installed."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins
from twisted.trial.unittest import SkipTest, TestCase

from tests.test_options import DOCUMENTED_OPTIONS


class PluginTests(TestCase):
    def test_service_maker_is_registered(self):
        makers = {m.tapname: m for m in getPlugins(IServiceMaker)}
        self.assertIn("nostrp2p", makers)
        self.assertIn("--pubkey", str(makers["nostrp2p"].options()))

    def test_installed_twistd_lists_every_option(self):
        # The venv's own twistd script: sys.path has the installed package only, not this tree,
        # so this shows the plugin survives a normal install.
        twistd = Path(sys.executable).parent / "twistd"
        if not twistd.exists():
            raise SkipTest(f"no twistd script beside {sys.executable}")
        site = Path(sysconfig.get_paths()["purelib"])
        if any(site.glob("__editable__*nostrp2p*")):
            # A developer's `pip install -e`: twisted/plugins/ stays in the tree, outside the
            # installed twisted.plugins package. scripts/setup-venv installs normally.
            raise SkipTest("nostrp2p is installed in editable mode in this venv")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        result = subprocess.run(
            [str(twistd), "nostrp2p", "--help"], capture_output=True, text=True, env=env,
            cwd="/", timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        for option in DOCUMENTED_OPTIONS:
            self.assertIn(option, result.stdout)
