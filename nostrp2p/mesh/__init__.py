"""The UDP overlay between servers. It carries opaque payloads and knows nothing of Nostr.

node.OverlayNode is the sans-I/O core (links.py sessions, membership.py HyParView views,
broadcast.py Plumtree), service.MeshService runs it on a real UDP port, sim/ runs many of it in a
deterministic simulated network, stun.py answers STUN on the same socket. The wire format is
docs/PROTOCOL.md; every inner message's shape is a class of messages.py; every limit is in
limits.py.
"""
