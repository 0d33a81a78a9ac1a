"""A deterministic in-memory network for running many OverlayNode cores at once: seeded
randomness, a fake clock, per-link latency, loss, duplication, reordering, partitions, nodes
that join, crash and come back, and NAT boxes in front of them. It is how the overlay is tested
and benchmarked."""

from nostrp2p.mesh.sim.nat import NatBox, NatType
from nostrp2p.mesh.sim.network import LinkModel, SimNetwork

__all__ = ["LinkModel", "NatBox", "NatType", "SimNetwork"]
