"""Every bound and timing of the overlay core, in one place.

Times are seconds of the caller's clock (the core never reads one itself). Sizes are bytes unless
the name says otherwise. PROTOCOL.md quotes these names.
"""

# --- datagrams and frames ---------------------------------------------------------------------
MAX_DATAGRAM = 1200
"""No overlay datagram is sent or accepted above this size (a safe IPv6/UDP payload without
path-MTU discovery)."""

MAX_BROADCAST_PAYLOAD = 1000
"""Largest payload :meth:`OverlayNode.broadcast` accepts; the GOSSIP frame around it (header,
AEAD tag, message id, origin keys, hop count, MessagePack framing) needs the rest of
MAX_DATAGRAM. Larger payloads raise PayloadTooLarge until fragmentation exists."""

MAX_IHAVE_IDS = 40
"""Message ids in one IHAVE frame (16 bytes each) so it stays far below MAX_DATAGRAM."""

MAX_SAMPLE_DESCRIPTORS = 8
"""Peer descriptors accepted in one SHUFFLE or SHUFFLE_REPLY."""

MAX_HOST_LENGTH = 255
"""Longest host string accepted in a peer descriptor."""

# --- sessions and handshakes ------------------------------------------------------------------
MAX_SESSIONS = 64
"""Established sessions kept at once (active view, transient shuffle/join partners)."""

MAX_HALF_OPEN = 32
"""Handshakes in progress (as initiator or responder) at once; more INITs are dropped."""

MAX_PENDING_PER_PEER = 8
"""Messages queued for a peer while its handshake runs; the oldest is dropped past this."""

HANDSHAKE_TIMEOUT = 1.0
"""Seconds before an unanswered INIT is sent again."""

HANDSHAKE_ATTEMPTS = 3
"""INITs sent before the peer is declared unreachable."""

REKEY_AFTER = 600.0
"""Seconds after which the initiator of a session starts a fresh handshake (forward secrecy)."""

SESSION_MAX_AGE = 720.0
"""Seconds after which a session is refused outright, rekeyed or not."""

REKEY_AFTER_MESSAGES = 2 ** 48
"""Counter value after which a session is retired."""

REPLAY_WINDOW = 1024
"""Counters below the highest seen by more than this many are refused as possible replays."""

IDLE_SESSION_TIMEOUT = 30.0
"""A session with no active-view peer behind it and no traffic for this long is closed."""

# --- membership (HyParView) -------------------------------------------------------------------
ACTIVE_VIEW_MAX = 5
PASSIVE_VIEW_MAX = 30
ACTIVE_RANDOM_WALK = 6
"""ARWL: hops a FORWARD_JOIN or SHUFFLE travels."""
PASSIVE_RANDOM_WALK = 3
"""PRWL: at this remaining TTL a FORWARD_JOIN also adds the joiner to the passive view."""
SHUFFLE_ACTIVE = 3
SHUFFLE_PASSIVE = 4
SHUFFLE_INTERVAL = 30.0
MAINTENANCE_INTERVAL = 2.0
"""How often the view is checked: refill the active view from the passive one, rejoin."""
TOPUP_INTERVAL = 15.0
"""A node with a non-empty but short active view asks one passive peer this often."""
KEEPALIVE_INTERVAL = 5.0
"""A PING goes to an active peer that has been sent nothing for this long."""
PEER_TIMEOUT = 16.0
"""An active peer heard nothing from for this long is declared failed."""
NEIGHBOR_REQUEST_TIMEOUT = 4.0
"""A NEIGHBOR request unanswered this long counts as refused."""
SUSPECT_MAX = 16
"""Failed peers remembered for an occasional retry, so partitions heal."""
SUSPECT_RETRY_INTERVAL = 20.0
SUSPECT_ATTEMPTS = 6
"""Retries of one failed peer before it is forgotten."""
REJOIN_INTERVAL = 10.0
"""With an empty active view, a bootstrap peer is asked to JOIN again this often."""
MAX_BOOTSTRAP = 16
"""Bootstrap addresses kept."""

# --- broadcast (Plumtree) ---------------------------------------------------------------------
SEEN_CACHE_MAX = 8192
"""Message ids remembered to drop duplicates."""
SEEN_TTL = 900.0
"""Seconds a message id is remembered."""
MESSAGE_STORE_MAX = 512
"""Payloads kept to answer GRAFTs and to let a returning neighbour catch up."""
MESSAGE_STORE_TTL = 120.0
"""Seconds a payload is kept in that store (the catch-up window)."""
RECOVERY_ANNOUNCE_MAX = 120
"""Ids of recent messages announced to a new neighbour (the catch-up set)."""
LAZY_FLUSH_INTERVAL = 0.5
"""IHAVE announcements are batched for this long."""
LAZY_QUEUE_MAX = 256
"""Ids waiting to be announced to one peer; older ones are dropped past this."""
GRAFT_TIMEOUT = 1.0
"""Seconds to wait for the eager copy after an IHAVE before grafting."""
GRAFT_JITTER = 1.0
"""The first graft waits GRAFT_TIMEOUT times a random factor in [1, 1 + GRAFT_JITTER]."""
GRAFT_RETRY = 0.5
"""Seconds before grafting the next announcer when a GRAFT brought nothing."""
MISSING_MAX = 1024
"""Announced-but-unreceived message ids tracked."""
MISSING_ANNOUNCERS_MAX = 4
"""Announcers remembered per missing message."""
MAX_HOPS = 64
"""A GOSSIP with more hops is dropped (loops cannot happen; this bounds a faulty peer)."""
