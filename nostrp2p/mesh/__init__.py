"""The UDP overlay between servers. It carries opaque payloads and knows nothing of Nostr.

core.OverlayNode is the sans-I/O core. Its parts, each given the siblings it works with:
links.py sessions and handshakes; membership.py HyParView views; broadcast.py Plumtree (and
broadcast_parts.py for large payloads); routing.py the Kademlia table and lookups; unicast.py
reliable unicast, made of locator.py (finding a server), arq.py (fragments, acknowledgements,
retransmissions), reassembly.py (shared with large broadcasts) and pending_requests.py;
reachability.py which way reaches a server (direct, or which relay); relay.py carrying frames
for others; traversal.py NAT traversal. service.MeshService runs the core on a real UDP port,
sim/ runs many of it in a deterministic simulated network, stun.py answers STUN on the same
socket. The wire format is docs/PROTOCOL.md; every inner message's shape is a class of
messages.py; every limit is in limits.py.
"""
