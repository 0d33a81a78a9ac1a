"""Small networks in the simulator for the overlay tests."""

import importlib.util
import os

from nostrp2p.mesh.sim import LinkModel, SimNetwork


def load_bench(name):
    """The module of bench/NAME.py (the benchmarks are scripts, not a package)."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "bench", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def grow(count, seed=1, link=LinkModel(), password=None, settle=30.0, spacing=0.3):
    """A network of ``count`` nodes, each joining through the first; returns (net, addresses)."""
    net = SimNetwork(seed=seed, link=link)
    addresses = [net.add_node(password=password)]
    for _ in range(count - 1):
        net.run_for(spacing)
        addresses.append(net.add_node(bootstrap=[addresses[0]], password=password))
    net.run_for(settle)
    return net, addresses


def connected(net, addresses):
    """Whether the active views (as seen by both ends) connect all of ``addresses``."""
    by_key = {net.node(a).identity.public_key: a for a in addresses}
    start = addresses[0]
    seen = {start}
    stack = [start]
    while stack:
        node = net.node(stack.pop())
        for overlay_key in node.membership.active:
            other = by_key.get(overlay_key)
            if other is not None and other not in seen:
                seen.add(other)
                stack.append(other)
    return len(seen) == len(addresses)
