"""Every bound of the REST API, in one place."""

from ..nostr import limits as nostr_limits
from ..store import limits as store_limits

MAX_REQUEST_BODY_BYTES = nostr_limits.MAX_EVENT_JSON_BYTES
"""A request body (an event or a filter) larger than this is refused with 413 as soon as its
Content-Length says so, or as soon as that many bytes of a chunked body have arrived; the
rest is never read. A filter at its largest (1000 authors) is about 70 KB, an event 256 KB."""

LINGER_SECONDS = 5.0
LINGER_MAX_BYTES = 8 * 1024 * 1024
"""After a 413 the server stops sending and drops what the client still sends, for at most this
long and this many bytes, before it closes (RFC 9112 section 9.6): closing at once, with the
body still arriving, would reset the connection and the client would see a broken pipe
instead of the 413."""

MAX_HTTP_CONNECTIONS_PER_ADDRESS = 256
"""HTTP connections open at once to the API port from one IPv4 address or IPv6 /64; more are
closed as soon as they are accepted. A client retrying through a store outage holds a few dozen
(each waits up to the 1.5 s store deadline); 256 leaves room for that while one host can hold
only a quarter of the 1,024 descriptors a service gets by default. WebSockets have their own
cap (MAX_CONNECTIONS_PER_ADDRESS) and give their HTTP slot back when they are upgraded."""

HTTP_IDLE_SECONDS = 75.0
"""An HTTP connection that has sent nothing for this long is closed (Twisted's default is 12
hours: enough idle sockets to run the server out of file descriptors). A client keeping its
connection alive between requests reconnects; a WebSocket is not subject to it."""

MAX_INFLATED_BODY_BYTES = nostr_limits.MAX_EVENT_JSON_BYTES
"""A gzip request body may inflate to at most this many bytes (a gzip bomb is a 413)."""

MAX_ANSWER_EVENTS = store_limits.MAX_ANSWER_EVENTS
"""Events in one /req answer, whatever ``limit`` asks (the client asks for 300)."""

MAX_CURRENT_LOOKUPS = 500
"""(author, kind) pairs of a profile / follow-list read answered from the current-replaceable
records; a larger filter is answered by an ordinary store query instead."""

GZIP_LEVEL = 1
"""Level for compressing /req answers: on a 300-event timeline (85 KB) level 1 gives 32.7 KB
in 1.0 ms, level 6 32.4 KB in 1.8 ms; the difference in size is not worth the time."""

GZIP_MIN_EVENTS = 3
"""Answers of fewer events (a profile, a post) are sent uncompressed: gzip's framing would
eat most of the saving on a few hundred bytes."""

PACKED_EVENTS_CACHED = 4096
"""Events whose MessagePack client form is kept (about 300 bytes each: ~1.2 MB)."""

ANSWERS_CACHED = 16
"""Whole /req answers kept, keyed by the ids they hold (at most 500 events, ~150 KB each)."""

STORE_DEADLINE_SECONDS = 1.5
"""A write (/publish, EVENT) or a /req whose store call has not answered by then is answered
503 (a /req from the in-memory window if it can): while Redis is down or restarting the client
hears within 2 s. A write given up on goes on, and its event is delivered if it completes."""

OWNER_ADDRESS_SECONDS = 24 * 3600.0
"""An address from which the owner published a new event counts as the owner's client this
long (owner_clients.py): its /req reads keep the owner's fetch budget."""

MAX_OWNER_ADDRESSES = 16
"""Addresses remembered as the owner's (a phone, a laptop, changing networks); the one that
published longest ago is forgotten first."""

MAX_WRITES_WAITING = 256
"""Published events whose store write is still going (Redis down: they wait for it); more are
refused with 503 at once."""

MAX_UNSETTLED_WRITES = 1024
"""Events whose write failed without telling whether Redis applied it, remembered so that a
retry answered "not new" still delivers them; the oldest are forgotten first."""

# -- the NIP-01 WebSocket relay interface (nostrp2p/api/relay/); each one is also published
# in the NIP-11 document's "limitation" -------------------------------------------------------

MAX_MESSAGE_BYTES = nostr_limits.MAX_EVENT_JSON_BYTES + 4096
"""One WebSocket message, either way: the largest event plus its ``["EVENT", sub_id, ...]``
wrapping. A larger incoming message gets a NOTICE and the connection is closed with 1009 (the
rest of it is never read)."""

MAX_CONNECTIONS_PER_ADDRESS = 32
"""WebSocket connections open at once from one IP address (a phone, a laptop and a few apps
need a handful); more are refused with HTTP 429 before the upgrade."""

MAX_SUBSCRIPTIONS = 32
"""Open subscriptions per connection (clients use a few: timeline, notifications, a thread);
one more is answered CLOSED ``rate-limited:``."""

MAX_FILTERS = 10
"""Filters in one REQ; more is answered CLOSED ``invalid:``."""

MAX_SUBSCRIPTION_ID_CHARS = 64
"""Length of a subscription id (NIP-01: at most 64 characters)."""

MAX_REQ_EVENTS = MAX_ANSWER_EVENTS
"""Stored events one REQ answers before EOSE, across all its filters (each filter's ``limit``
is capped by it too): newest first."""

MAX_QUERIES_IN_FLIGHT = 8
"""REQs of one connection whose stored answer is being read at once; a REQ beyond it (a client
replacing a subscription in a loop) is answered CLOSED ``rate-limited:``."""

MAX_WRITES_IN_FLIGHT = 64
"""EVENTs of one connection being stored at once; one more is answered OK false
``rate-limited:`` (the client resends after the earlier ones are acknowledged)."""

MAX_EARLY_LIVE_EVENTS = 256
"""Live events held for a subscription while its stored answer is read (they go out after
EOSE); past it the oldest are dropped (they are in the store, a new REQ finds them)."""

MAX_OUTGOING_BYTES = 2 * 1024 * 1024
"""Bytes waiting to be sent on one connection once the socket's own buffer is full (a full REQ
answer of 500 ordinary events is about 0.5 MB). A reader that lets more pile up is closed with
1008 and the reason; its queue is dropped at once, so a reader that never reads costs at most
this much."""

EVENT_JSON_CACHED = 4096
"""Events whose NIP-01 JSON text is kept by id, so a stored answer or a fan-out to many
subscriptions encodes each event once."""

PING_INTERVAL_SECONDS = 60
"""A WebSocket connection silent this long is pinged; one that does not answer within
PING_TIMEOUT_SECONDS is dropped. A laptop that slept or a phone that changed networks leaves
a dead connection behind, which would otherwise hold one of its address's slots forever."""

PING_TIMEOUT_SECONDS = 30
"""How long a pinged connection has to answer."""

AUTH_MAX_AGE_SECONDS = 600
"""A NIP-42 AUTH event's created_at may be at most this far from the server's clock."""

AUTH_CHALLENGE_BYTES = 16
"""Random bytes of a NIP-42 challenge (sent as hex)."""
