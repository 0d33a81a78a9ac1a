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
"""Longest host string accepted in a peer descriptor, YOU_ARE or PUNCH (an IP literal: anything
else is malformed)."""

ERROR_LOG_INTERVAL = 10.0
"""A fault in a message handler or timer callback is counted every time and logged at most this
often (a hostile peer repeating a message must not flood the log)."""

TIMERS_CANCELLED_KEPT = 64
"""Cancelled timer calls left in the queue before it is cleared of them (once they are also more
than half of it): the queue holds at most about twice the live timers."""

HOSTS_REMEMBERED = 4096
"""Hosts already checked as IP literals, remembered so that the descriptors that keep naming
them are not parsed again (forgotten all at once past this)."""

# --- sessions and handshakes ------------------------------------------------------------------
NETWORK_KEY_OPSLIMIT = 3
NETWORK_KEY_MEMLIMIT = 64 * 1024 * 1024
"""Argon2id cost of the network key: 3 passes over 64 MiB, about 0.25 s once at start on a small
home machine; the same for every guess of an attacker holding a sniffed INIT."""
NETWORK_KEYS_CACHED = 8
"""Network keys kept once derived (one per password a process uses; the simulator runs many nodes
with the same password)."""

MAX_SESSIONS = 1024
"""Established sessions kept at once (active view, transient shuffle/join partners, and a
session with each tree neighbour of every channel taken part in: a forwarder on the routes of
popular authors has hundreds). At 64, servers of 600 in followers mode evicted live tree
sessions and made one new session a second each (0.08 at 256). About 2 KB each."""

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

SESSION_CIPHER_IDLE = 5.0
"""A session with no traffic for this long lets go of its keyed ciphers until its next frame
(about 4.4 KB a session outside Python; keying them again costs 2 us a direction). Looked at
this often, so a quiet session holds them for at most twice this."""

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
LAZY_FLUSH_INTERVAL = 0.1
"""IHAVE announcements are batched for this long (an IHAVE is what a server cut off from the
eager tree waits for, so this is part of the worst publish-to-visible time)."""
ANNOUNCE_EAGER_UP_TO = 2
"""A server with at most this many neighbours announces each message (IHAVE) to its eager
neighbours too, not only to its lazy ones: in a network this small a neighbour may have no
other link to hear of a push lost on ours (two servers are each other's only link). Larger
views leave it to the lazy links, as Plumtree does."""

LAZY_QUEUE_MAX = 256
"""Ids waiting to be announced to one peer; older ones are dropped past this."""
GRAFT_TIMEOUT = 1.0
"""Longest wait for the eager copy after an IHAVE before grafting (graft_timeout.py: the wait
follows the round trip measured to the announcer)."""
GRAFT_TIMEOUT_MIN = 0.1
"""Shortest such wait."""
GRAFT_TIMEOUT_UNMEASURED = 0.15
"""The wait when no round trip to the announcer has been measured."""
GRAFT_RTT_FACTOR = 3.0
"""Smoothed round trips (plus four deviations) the eager copy may lag behind an IHAVE."""
GRAFT_JITTER = 0.5
"""The first graft waits its timeout times a random factor in [1, 1 + GRAFT_JITTER]."""
GRAFT_RETRY = 0.5
"""Seconds before grafting the next announcer when a GRAFT brought nothing."""
MISSING_MAX = 1024
"""Announced-but-unreceived message ids tracked."""
MISSING_ANNOUNCERS_MAX = 4
"""Announcers remembered per missing message."""
MAX_HOPS = 64
"""A GOSSIP with more hops is dropped (loops cannot happen; this bounds a faulty peer)."""

# --- unicast: routing by owner key (see PROTOCOL.md "Unicast") ---------------------------------
ROUTING_BUCKET_SIZE = 8
"""Contacts kept per XOR-distance bucket (Kademlia's k): the table holds about k * log2(N)."""

ROUTE_IDS_CACHED = 16384
"""Owner keys whose route id (a hash) is kept, most recently used first (about 200 bytes each,
3 MB at most): a server ranks contacts by it at every lookup step and channel join, and meets
about k * log2(N) contacts and its owner's follows."""

ROUTING_STALE_AFTER = 600.0
"""A contact not heard from for this long may be replaced by a fresh one in a full bucket."""

LOOKUP_PARALLELISM = 3
"""FIND queries in flight at once during one lookup (Kademlia's alpha)."""

LOOKUP_QUERY_TIMEOUT = 4.0
"""A FIND unanswered for this long counts as failed (covers a handshake with retries)."""

LOOKUP_MAX_QUERIES = 40
"""FIND queries one lookup may send before it gives up."""

LOOKUP_RELAY_QUERIES = 6
"""FIND queries a lookup goes on with after finding its server when the answer did not carry the
relays that server named (only the servers it announced itself to hold them), and our handshake
with that server is still unanswered after LOOKUP_RELAY_GRACE."""

LOOKUP_RELAY_GRACE = HANDSHAKE_TIMEOUT
"""How long a lookup that found its server without its relays waits to see whether that server
answers directly (a session with it made) before it asks on for them: a server that answers
needs no relays, and one that nobody is trying to reach needs none now (a later direct attempt
that fails asks for them then). It is the first INIT's wait for an answer; the relays then
arrive well before the handshake is given up (HANDSHAKE_ATTEMPTS tries)."""

LOOKUP_RETRY_DELAY = 5.0
"""A lookup that found nothing is tried once more this much later before a send fails with
UnknownKey: a server that just came back may not have announced itself yet."""

MAX_LOOKUPS = 64
"""Lookups in progress at once; more sends to unknown keys fail at once with UnknownKey."""

ROUTING_ANNOUNCE_DELAY = 3.0
"""After start, a server looks itself up (so the servers nearest its key learn of it) this soon..."""

ROUTING_REFRESH_INTERVAL = 300.0
"""...and again this often, as Kademlia refreshes, so tables follow churn..."""

ROUTING_RELAYS_CHECK_INTERVAL = 30.0
"""...and sooner when the relays it named (its active neighbours) have changed since, looked at
this often, so that lookups name relays that still hold sessions with it."""

REHANDSHAKE_AFTER_TRIES = 3
"""A fragment unacknowledged after this many sends makes a fresh handshake with its destination
(unless it is an active neighbour, watched by keepalives): the other side may have restarted
and lost the session."""

REHANDSHAKE_UNANSWERED = 2.0
"""A message to a peer (not an active neighbour) unacknowledged this long, with nothing heard
from the peer on our session since it went, makes a fresh handshake too, however few its own
tries: a peer that restarted within seconds (its tree neighbours still hold the session it
lost) is reached again within seconds rather than once the backed-off retries of one message
come to REHANDSHAKE_AFTER_TRIES (12 s in a traced case)."""

RECENT_LOOKUPS_KEPT = 64
"""Query counts of recent lookups kept for measurement."""

MAX_FOUND_DESCRIPTORS = 8
"""Descriptors in one FOUND answer (k)."""

# --- unicast: reliable messages -----------------------------------------------------------------
MAX_UNICAST_PAYLOAD = 512 * 1024
"""Largest payload of one unicast, request or reply (a 300-event answer fits)."""

FRAGMENT_SIZE = 880
"""Payload bytes per fragment we send: the UNICAST frame around it, sealed for the end-to-end
session (a MAX_RELAYED_DATAGRAM), still fits in a RELAY with a full path sealed for the first
relay, so any fragment can move onto a relay mid-message."""

MAX_FRAGMENT_CHUNK = 1000
"""Payload bytes per fragment accepted (servers before end-to-end relaying sent 1,000)."""

SEND_WINDOW = 8
"""Unacknowledged fragments in flight per message (MAX_PENDING_PER_PEER covers a handshake)."""

MAX_OUTGOING_MESSAGES = 256
"""Unicasts (and requests, and replies) being sent at once; more fail at once."""

MAX_OUTGOING_PER_PEER = 32
"""Of those, to one destination server."""

RTO_INITIAL = 1.0
RTO_MIN = 0.2
RTO_MAX = 8.0
"""Retransmission timeout bounds (RFC 6298 estimator over acknowledged fragments)."""

MAX_RETRANSMISSIONS = 6
"""A fragment sent this many times without an acknowledgement fails its message (TimedOut):
with the doubling timeout that is about half a minute."""

MAX_REASSEMBLY_MESSAGES = 64
"""Partly received messages held at once; the oldest is dropped to make room."""

MAX_REASSEMBLY_BYTES = 4 * 1024 * 1024
"""Bytes held in partly received messages at once."""

MAX_REASSEMBLY_MESSAGES_PER_PEER = MAX_REASSEMBLY_MESSAGES // 8
MAX_REASSEMBLY_BYTES_PER_PEER = 2 * MAX_UNICAST_PAYLOAD
"""Of those, what one sending server may hold (its own oldest is dropped past it), so that it
cannot push out the partial messages of others: it takes at most an eighth of the messages and
a quarter of the bytes, and two of the largest messages still fit."""

REASSEMBLY_TIMEOUT = 60.0
"""A partly received message with no new fragment for this long is dropped."""

DELIVERED_IDS_MAX = 8192
DELIVERED_IDS_TTL = 600.0
"""Message ids already delivered upward (so a retransmitted copy is acknowledged, not redelivered)."""

REQUEST_TIMEOUT = 30.0
"""A request whose reply has not come back in this long fails with TimedOut."""

MAX_PENDING_REQUESTS = 256
"""Requests waiting for a reply at once."""

# --- broadcast of payloads larger than one datagram ---------------------------------------------
MAX_BROADCAST_MESSAGE = 320 * 1024
"""Largest payload :meth:`OverlayNode.broadcast` accepts: any Nostr event this server accepts.
Above MAX_BROADCAST_PART it travels as parts, each its own Plumtree message."""

MAX_BROADCAST_PART = MAX_BROADCAST_PAYLOAD - 32
"""Payload bytes in one part (the part header takes the rest of MAX_BROADCAST_PAYLOAD)."""

MAX_BROADCAST_ASSEMBLIES = 32
"""Large broadcasts being put together at once; the oldest is dropped to make room."""

MAX_BROADCAST_ASSEMBLY_BYTES = 2 * 1024 * 1024
"""Bytes held in parts of large broadcasts at once."""

BROADCAST_ASSEMBLY_TIMEOUT = 120.0
"""Parts of a large broadcast not completed in this long are dropped (MESSAGE_STORE_TTL: a part
still missing by then can no longer be grafted)."""

# --- unicast through relays (when no direct session can be made) -------------------------------
MAX_RELAY_HOPS = 3
"""Servers a relayed message may pass through; each hop also refuses one already on its path."""

MAX_RELAYED_DATAGRAM = 959
"""Largest end-to-end datagram a RELAY carries: with the destination, its owner, a path of
MAX_RELAY_HOPS keys, the origin's owner and MessagePack framing (211 bytes), sealed for the
relay (30 bytes), it is MAX_DATAGRAM. Larger ones are not sent (``drop_out_oversize``) and not
accepted."""

RELAY_ROUTES_MAX = 256
"""Destinations reached through a relay, remembered (least recently used forgotten)."""

RELAY_SILENT_MAX = 2
"""Relays that said nothing, after which a message to a server last reached directly is given
up (reachability.py ``route_around``)."""

RELAY_HINTS_MAX = 256
"""Destinations with servers known to know them (candidate relays), remembered..."""

RELAY_HINTS_PER_DESTINATION = 4
"""...and candidate relays per destination."""

RELAY_BUDGET_PER_SECOND = 200
"""Messages one server may have this server relay per second; more are dropped and counted, so a
relay cannot be used to flood."""

RELAY_ORIGINS_MAX = 1024
"""Servers whose relay budgets are tracked at once."""

RELAY_BYTES_PER_SECOND = 1024 * 1024
"""Bytes per second a server passes on for others, in all, unless its operator says otherwise
(``--relay-kib-per-second``; 0 relays nothing). Frames over it are refused and counted; the
origin is told (RELAY_REFUSED) and tries another relay."""

RELAY_BYTES_PER_SECOND_PER_ORIGIN = 128 * 1024
"""...and for one origin, so that one server cannot take a relay's whole allowance."""

RELAY_PAIRS_MAX = 256
"""(origin, destination) pairs a server relays between at once; a new pair beyond it is refused
until one has been idle for RELAY_PAIR_IDLE..."""

RELAY_PAIRS_PER_ORIGIN = 16
"""...and pairs one origin may hold, so that one server cannot fill the table."""

RELAY_PAIR_IDLE = 60.0
"""Seconds without a frame after which a relayed pair no longer counts."""

# --- NAT traversal ------------------------------------------------------------------------------
REFLEXIVE_OBSERVATIONS_MAX = 8
"""Peers' reports of the address our datagrams come from, kept (one per reporting host)."""

WHOAMI_ASKED_MAX = 256
"""Peers asked where they see us, and when, remembered (a new session with a peer asked before
is not asked again until a recheck is due)."""

WHOAMI_SETTLE_REPORTERS = 3
"""The reflexive address is settled when the reports of this many distinct hosts, the most
recent, all agree (an endpoint-independent mapping) or all differ (an endpoint-dependent one).
Until then each new peer is asked, at most this many at a time; after, one peer per
WHOAMI_RECHECK_INTERVAL (a join storm made every new session ask: a fifth of its datagrams)."""

WHOAMI_RECHECK_INTERVAL = 60.0
"""Once settled, a peer is asked at most this often (a new session's, else the peer asked
longest ago), so a new public address or NAT behaviour is noticed within about this long. A
report that disagrees unsettles it, and WHOAMI_SETTLE_REPORTERS peers are asked at once."""

WHOAMI_ANSWER_TIMEOUT = 5.0
"""A WHOAMI unanswered for this long is given up (its YOU_ARE, if late, is not taken)."""

PUNCH_RETRY_INTERVAL = 60.0
"""While messages to a server go through a relay, an introduction for a direct session is asked
for again this often (the first when relaying starts): NATs change, mappings expire, and a
session that went idle is not left relayed for good."""

PUNCH_BUDGET_PER_MINUTE = 30
"""Hole-punch introductions one server may ask of this one (as introducer or as target) per
minute; more are dropped and counted."""

STUN_RECHECK_INTERVAL = 300.0
"""How often the configured STUN servers are asked again for our public address (a mapping can
change: a router restart, a new address from the provider)."""

MAX_STUN_SERVERS = 8
"""STUN servers configured at most."""

# --- handshakes under load, and answers to unproven sources (see PROTOCOL.md "COOKIE") -------
HALF_OPEN_UNDER_LOAD = MAX_HALF_OPEN // 4
"""With this many handshakes half-open (a quarter of MAX_HALF_OPEN, WireGuard's ratio is an
eighth of a far larger queue), an INIT without a valid cookie gets a COOKIE frame and no state:
what remains of the table is for sources that proved they receive at their address."""

HALF_OPEN_UNPROVEN_PER_SOURCE = 2
"""Half-open handshakes one IP address may hold without a cookie; past it, that source gets
COOKIE frames (so one host, from any number of ports, takes at most this much of the table)."""

HALF_OPEN_PER_SOURCE = MAX_HALF_OPEN // 2
"""Half-open handshakes one IP address may hold at all, cookie or not."""

COOKIE_SECRET_LIFETIME = 120.0
"""The secret cookies are made under is replaced this often (a cookie from the previous secret is
still accepted: a cookie lives between 2 and 4 minutes)."""

INITS_REMEMBERED = 1024
"""Initiators' ephemeral keys of INITs answered with a RESP, remembered (oldest forgotten first)
so that a replayed INIT gets at most a COOKIE frame, never a second handshake..."""

INIT_REMEMBERED_FOR = SESSION_MAX_AGE
"""...for this long (a session made from an older INIT has expired anyway)."""

RESP_RESENDS = HANDSHAKE_ATTEMPTS - 1
"""Times the RESP of one half-open handshake is sent again, to a retransmitted INIT that carries
a valid cookie for the address the first came from (its RESP was lost)."""

STUN_ANSWERS_PER_SECOND_PER_SOURCE = 5
"""Binding answers one source IP address gets per second: a STUN answer is a reflection, so a
forged source must not turn this server into a flood."""

STUN_LARGER_ANSWERS_PER_MINUTE = 6
"""Of those, answers larger than their request (a bare 20-byte request asks for a 40 or 52-byte
answer): this few per source IP per minute. Our own requests are padded so that they never need
this allowance."""

STUN_SOURCES_TRACKED = 1024
"""Source addresses whose STUN allowances are tracked (least recently heard forgotten first)."""

# --- follower channels: per-author dissemination trees (channels.py, docs/SCALING.md) ----------
CHANNEL_CHILDREN_MAX = 16
"""Children one server keeps in one channel: the author's home sends at most this many copies of
a post however many followers it has. A join past it is pushed down to one of the children."""

CHANNEL_MAX_REDIRECTS = 8
"""Times one join may be pushed down before it is refused (a tree is not deeper than this below
a full server, and a stale redirect cannot bounce a join for ever)."""

MAX_CHANNELS = 4096
"""Channels a server takes part in at once (its own follows, the channels it forwards and its
own); a join for a new channel past it is refused."""

CHANNELS_PER_CHILD = 512
"""Channels in which one server may be our child: nobody can make a server forward for
thousands of channels unasked, and a server following many authors spreads its joins over many
first hops anyway."""

CHANNEL_HEARTBEAT_INTERVAL = 5.0
"""How often a child looks over its parents (no message of its own: see CHANNEL_HEARTBEAT_IDLE).
A parent is sent a HEARTBEAT, one for all the channels the child has it in, where it stands in
each, only when the child has something to tell it (its own children changed since the parent
acknowledged them; the session with the parent is newer than the parent's last word, so it may
have restarted and forgotten the child), has heard nothing from it for CHANNEL_HEARTBEAT_IDLE, or
has not been confirmed as its child for CHANNEL_CONFIRM_INTERVAL.
The parent answers (STATE) only for the channels where the child is behind (a lost last post is
seen even when nothing follows it), no longer its child (it restarted) or has a stale path; the
acknowledgement of the HEARTBEAT is the parent's sign of life."""

CHANNEL_HEARTBEAT_IDLE = 20.0
"""A parent heard nothing from for this long (no datagram of the pair's session: posts,
acknowledgements, link keepalives, messages of the pair's other channels either way) is sent a
HEARTBEAT (at a look 20 to 26 s after: within IDLE_SESSION_TIMEOUT, so that a quiet tree keeps
its sessions). 20 s: a quiet pair costs about 5 datagrams a minute, 2.5 a side; a crashed parent
is mostly found sooner, at the next post (CHANNEL_FORWARD_TIMEOUT, CHECK)."""

CHANNEL_CONFIRM_INTERVAL = 30.0
"""A parent that has not shown for this long that it still has us as its child (a post, an
acknowledged heartbeat, a STATE), though we hear from it otherwise (link keepalives, the pair's
other channels), is sent a HEARTBEAT: so a child it dropped without being able to tell it, or a
last post lost on the way, is seen within this long even while the pair keeps talking."""

CHANNEL_PARENT_TIMEOUT = 27.0
"""A parent heard nothing from for this long is lost, and the child joins again: a heartbeat
went to it at the look before (CHANNEL_HEARTBEAT_IDLE, plus the longest gap between two looks,
6 s, plus a second) and was not acknowledged in the 4 s or more since. A parent that is also
an active neighbour is noticed by the link keepalives (PEER_TIMEOUT), whichever comes first."""

CHANNEL_PATH_MAX = 24
"""Servers in a path to a channel's root (ACCEPT, STATE): a route is at most about log16 N hops
and a join is pushed down at most CHANNEL_MAX_REDIRECTS times; a longer path is taken for a
cycle, as is one that holds the server itself."""

CHANNEL_FORWARD_TIMEOUT = 1.0
"""A post a child has not acknowledged in this long (a live one does within a round trip or a
retransmission) makes it taken for gone: it is dropped and its children warned (CHECK)."""

CHANNEL_PROBE_TIMEOUT = 0.6
"""A warned child asks its parent (a heartbeat); a parent that does not acknowledge it in this
long is lost, and the child joins the server that warned it."""

CHANNEL_CHILD_TIMEOUT = 45.0
"""A child heard nothing from for this long (no datagram of its session) is dropped. A child
that hears from its parent need not send anything but answers, so a parent whose datagrams go
unanswered (a routing query whose answer was lost) may hear nothing of a live child until its
heartbeat at CHANNEL_CONFIRM_INTERVAL: this is that, two looks and a margin."""

CHANNEL_HEARTBEAT_AUTHORS = 64
"""Channels named in one HEARTBEAT or STATE (more go in several)."""

CHANNEL_JOIN_TIMEOUT = 3.0
"""A join not answered (ACCEPT, REDIRECT or REFUSE) in this long goes to the next candidate."""

CHANNEL_INVITE_RETRY = 60.0
"""A member with room invites its grandchildren up (channels.py ``_invite_up``); one that did
not come (it was joining elsewhere, or its path named another grandparent) is invited again
after this long at the soonest, so a member sends at most its room in invitations a minute."""

CHANNEL_LEVEL_GAIN = 1
"""A full member moves the member at the bottom of a child's subtree to room under another child
(channels.py ``_level``) only when it comes up at least this many levels. A tree is left with
its bottom at most this many levels below the level with room, wherever the routes brought its
joins in. It was 2, for fear of moves to and fro on reports a few seconds old; but a member
takes a move only if it comes out higher, so none goes back, and at N = 3,000 a tail of late
joiners stayed one level above the depth bound with 2 (docs/SCALING.md "Tree depth: the root's
absence")."""

CHANNEL_PUSH_MEMORY = 9.0
"""A full member counts the joins it pushed to a child as that child's until the child reports
its children (they are due in its next heartbeat); pushes older than this (a join timeout and a
heartbeat look) are forgotten: those joiners came and were reported, or are not coming."""

CHANNEL_REJOIN_DELAY = 1.0
CHANNEL_REJOIN_DELAY_MAX = 32.0
"""With no candidate parent left (a server just started, its routing table still empty; the
author's server away), the channel is tried again after this long, doubled at each failure up to
the maximum (a lookup for an author that is away costs several FINDs)."""

CHANNEL_LOG_POSTS = 64
"""Posts each member of a channel keeps (root, forwarders and followers) to answer pulls."""

CHANNEL_LOGS_BYTES = 16 * 1024 * 1024
"""Bytes those logs hold in all channels together (the oldest post of any channel goes first):
a post may be MAX_CHANNEL_PAYLOAD, and a server may be in MAX_CHANNELS channels."""

CHANNEL_PULL_MAX = 64
"""Sequences asked for in one PULL; a larger gap is pulled in several."""

CHANNEL_CATCH_UP_POSTS = 20
"""Posts a follower pulls when it (re)joins a channel: a new follow sees the author's recent
posts, a server back from downtime what it missed (older ones its node fetches)."""

CHANNEL_CATCH_UP_MAX = 1000
"""Posts a follower back from downtime pulls at most (those after the last it held), and the
posts the root keeps of its own channel to answer them (within CHANNEL_LOGS_BYTES). Older ones
its node fetches."""

CHANNEL_POSITIONS_BYTES = 256 * MAX_CHANNELS
"""Largest file of channel positions read back (channel_positions.py): an entry is about 50
bytes, 140 to 180 with its parent (an IPv4 or IPv6 address), and there are at most
MAX_CHANNELS; our own channel's children with theirs add at most 16 x 17 descriptors (50 KB)."""

CHANNEL_POSITIONS_SAVE_INTERVAL = 10.0
"""The channel positions are written at most this often while posts arrive or parents change
(and at stop): a crash loses at most this long of them, which only makes the next catch-up ask
for more, or the next join go by the route."""

CHANNEL_PULL_PAGE = 16
"""Sequences a member asks for at once (the next page when those are in): an answer of
CHANNEL_PULL_MAX posts would overrun MAX_OUTGOING_PER_PEER at the answering server."""

CHANNEL_PULL_ASKED = 8
"""Servers asked in turn for posts neither the parent nor the root (away) could give (up the
path to the root, then the routing contacts nearer the author) before they are given up."""

CHANNEL_PULL_RETRY = 6.0
"""A pull not answered in this long is asked of the root directly."""

CHANNEL_GAP_RETRY = 15.0
CHANNEL_GAP_RETRY_MAX = 300.0
"""Posts given up as unfillable (the root away, nobody else asked holding them) are asked for
again after CHANNEL_GAP_RETRY, then at doubling intervals up to CHANNEL_GAP_RETRY_MAX while
they stay unfilled: a root back from downtime answers them from its log (mesh/root_log.py)."""

MAX_CHANNEL_PAYLOAD = MAX_BROADCAST_MESSAGE
"""Largest post a channel carries (any event a server accepts, as for broadcasts)."""

CHANNEL_UNCHECKED_POSTS = CHANNEL_LOG_POSTS
"""Posts a channel holds while its root's key is not known yet (the locator has not answered,
or the root is away), to check their numbering against the key once it is; more are dropped
and pulled again then. A catch-up asks for CHANNEL_PULL_PAGE at a time, the next page only
when those are in, so a catch-up waits here a page at a time."""

CHANNEL_UNCHECKED_BYTES = 4 * 1024 * 1024
"""Payload bytes those held posts take in all channels together."""

CHANNEL_UNCHECKED_HOLD = 60.0
"""A held post is dropped after this long without its root's key (a gap, pulled again once
the root is found); the root is looked for again every CHANNEL_ROOT_LOCATE_RETRY meanwhile."""

CHANNEL_ROOT_LOCATE_RETRY = 5.0
"""While posts wait for their root's key and the locator found no root, it is asked again after
this long (a lookup is about log N FINDs)."""

ROOT_LOG_FILE_BYTES = 2 * CHANNEL_LOGS_BYTES + MAX_CHANNEL_PAYLOAD + 4096
"""Largest root log file read back (root_log.py): it is written anew when it holds twice what
the root keeps of its own posts (CHANNEL_CATCH_UP_MAX within CHANNEL_LOGS_BYTES)."""

# --- owner bindings (claims.py, session_claims.py; docs/PROTOCOL.md "Owner bindings") ---------
MAX_BINDING_SIZE = 1024
"""A binding as the overlay carries it (opaque bytes; the layer above checks what they say):
the same bound as the node layer's MAX_BINDING_BYTES."""

CLAIMS_KEPT = 4096
"""Verified (overlay key, owner) bindings remembered, least recently verified forgotten first;
the newest binding of each owner is remembered as long (the same bound)."""

CLAIM_RESEND_AFTER = 1.0
"""A bound server's CLAIM that brought no CLAIM back within this is sent again..."""

CLAIM_ATTEMPTS = 3
"""...at most this many times in all per session (an older server never answers)."""

CLAIM_ANSWERS_PER_SESSION = CLAIM_ATTEMPTS + 1
"""CLAIMs asking for an answer that one session gets answered: each answer may carry our
binding (about 260 bytes), so a peer cannot ask for it without end."""

LOOKUP_BOUND_QUERIES = LOOKUP_PARALLELISM
"""A lookup that met only an unbound claim of the owner settles on it once this many of the
nearest servers it knows of (by XOR distance to the owner's key, nearest first, as it learns
of nearer ones) have answered without a bound claim."""

UNBOUND_SETTLED_FOR = ROUTING_REFRESH_INTERVAL
"""After a lookup settled on an unbound claim, that owner's known contact is used without a
new lookup for this long."""

OWNERS_SETTLED_MAX = 1024
"""Owners remembered as settled on an unbound claim (least recently settled forgotten first)."""

CLAIM_WARNINGS_MAX = 64
"""Overlay keys of other servers bound to our own owner that we warned about once each."""
