"""Small adversarial scenarios for the tests of each attack: 30 servers of which three are
hostile and all run one attack, 1% loss, half a minute of honest traffic, set up as
bench/adversarial.py sets up its 200 servers (the node above each honest server)."""

import importlib.util
import os

from nostrp2p.mesh.sim.adversarial import Plan

_BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "adversarial.py")


def small(attack: str, **changes) -> Plan:
    settings = dict(nodes=30, attacks=(attack,), seed=150, settle=20.0, duration=30.0,
                    unicasts_per_second=2, drain=20.0)
    settings.update(changes)
    return Plan(**settings)


def run(attack: str, **changes) -> dict:
    """The figures of a small run of ``attack``."""
    return bench().run(small(attack, **changes))[0]


def bench():
    """bench/adversarial.py, loaded as a module (the node above each honest server)."""
    spec = importlib.util.spec_from_file_location("adversarial_bench", _BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
