"""A deterministic in-memory network for running many OverlayNode cores at once: seeded
randomness, a fake clock, per-link latency, loss, duplication, reordering, partitions, and
nodes that join, crash and come back. It is how the overlay is tested and benchmarked."""

from nostrp2p.mesh.sim.network import LinkModel, SimNetwork

__all__ = ["LinkModel", "SimNetwork"]
