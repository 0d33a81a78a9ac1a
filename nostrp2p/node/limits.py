"""Every bound of the node layer, in one place."""

from ..store import limits as _store_limits

# -- the overlay's message sizes (the overlay refuses anything larger) ----------------------

MAX_UNICAST_PAYLOAD = 512 * 1024
"""Largest unicast or request/reply payload the overlay carries (its reliable unicast's limit);
answers to "share" are trimmed, newest events kept, to fit it."""

MAX_BROADCAST_PAYLOAD = 320 * 1024
"""Largest broadcast payload the overlay carries. One event (at most 256 KiB of NIP-01 JSON,
less when packed) always fits."""

MAX_EVENTS_PER_MESSAGE = _store_limits.MAX_GET_IDS
"""Events in one incoming message (1000); a message with more is malformed: our answers hold at
most MAX_EVENTS_PER_ANSWER, and the copies already held are found with one store lookup."""

MAX_EVENTS_PER_ANSWER = 300
"""Events in one answer to a "share your events" request, before trimming to the size limit."""

# -- the resend queue -----------------------------------------------------------------------

RESEND_BASE_SECONDS = 300.0
"""Resend backoff unit: retry n (1..RESEND_ATTEMPTS) is due RESEND_BASE * 2**n after the last."""

RESEND_ATTEMPTS = 10
"""After this many retries (5 min x 2^10: the last wait is about 3.5 days) an item is dropped."""

RESEND_CHECK_SECONDS = 30.0
"""How often the queue is looked at for items that are due."""

RESEND_BATCH = 100
"""Due items taken from the queue per look; the rest wait for the next one."""

RECENT_FAILURES_KEPT = 20
"""Last unicast delivery failures remembered (time, destination, why) for `nostrp2p status`."""

# -- work in progress -----------------------------------------------------------------------

MAX_TASKS_IN_FLIGHT = 1024
"""Store/overlay jobs (storing arrivals, answering, fetching, queueing) running at once; past it
new work from the overlay is dropped and counted, so a slow store cannot make memory grow."""

INTAKE_BATCH_MAX = _store_limits.MAX_GET_IDS
"""Events from the broadcasts and unicasts of one reactor turn verified and stored together
(1000, so that the copies among them are looked for in one store read); a turn that brings
more is stored in several batches."""

# -- abuse bounds ---------------------------------------------------------------------------

RATE_TABLE_SIZE = 4096
"""Sessions (or authors) whose rate buckets are remembered; the least recently seen are
forgotten."""

PEER_REQUESTS_PER_MINUTE = 120
"""Requests one session may make of this server (profiles, follow lists, posts): keyed by the
session's overlay key (a relay's, for what it carries), never by the owner it claims."""

PEER_SHARES_PER_HOUR = 6
"""\"Share your events\" requests of one session answered per hour: each answer is a store query and
up to MAX_UNICAST_PAYLOAD bytes, and a server asks once or twice when it starts."""

PEER_EVENTS_PER_MINUTE = 600
"""Events one session may deliver to this server (each message costs at least one), in unicasts;
broadcasts handed over by that neighbour have a budget of the same size of their own."""

AUTHOR_EVENTS_PER_HOUR = 720
"""New events accepted from one author over the overlay: a busy human posts far less.
Copies of events already held do not count."""

MAX_FUTURE_SECONDS = 15 * 60
"""An event dated further ahead than this is refused: clocks drift, but not by days."""

# -- catching up and fetching ---------------------------------------------------------------

SHARE_WINDOW_SECONDS = 3 * 24 * 3600
""""Share your events" covers the last three days."""

SHARE_ASK_MAX = 8
"""Neighbours asked to share at once (the overlay has at most 5 active ones): each may answer
with up to MAX_UNICAST_PAYLOAD, on the session the request went out on."""

SHARE_REPEAT_SECONDS = 20.0
"""The neighbours are asked again this long after start (at start a server usually has no
neighbours yet; joining through a bootstrap takes a few seconds), unless the overlay said it
was ready and a request went out then."""

SHARE_MIN_INTERVAL_SECONDS = 600.0
"""Overlay-ready notices (the first neighbour, or neighbours again after none) make the server
ask its neighbours to share at most this often."""

REFRESH_AFTER_SECONDS = 24 * 3600
"""A held profile or follow list older than this is refreshed from its author's server..."""

REFRESH_AT_MOST_EVERY_SECONDS = 3600
"""...at most once an hour per author."""

FETCH_RETRY_SECONDS = 30.0
"""Something the client asks for again and again (it polls every 10 s) is requested from its
author's server at most this often while it is missing."""

MAX_FETCHES_PER_WANTED = 32
"""Requests one /req may cause (a filter may name 1000 ids and 1000 authors)."""

FETCHES_PER_CLIENT = 32
"""Overlay fetches the /req reads of one client address other than the owner's may start per
FETCH_BUDGET_SECONDS (bursts up to that many): one address cannot use up the server's fetches
(nor its overlay sessions) for others. The owner's client has only MAX_FETCHES_PER_WANTED."""

FETCHES_BY_STRANGERS = 128
"""Overlay fetches all client addresses other than the owner's may start together per
FETCH_BUDGET_SECONDS, however many addresses they come from; the owner's budget is apart."""

FETCH_BUDGET_SECONDS = 60.0
"""The period over which FETCHES_PER_CLIENT and FETCHES_BY_STRANGERS refill."""

MAX_FETCH_CLIENTS = 1024
"""Client addresses whose fetch budget is remembered; the least recently seen is forgotten
first (it then starts again with a full budget, still within FETCHES_BY_STRANGERS)."""

RECENT_FETCHES_MAX = 4096
"""Remembered recent requests (for FETCH_RETRY_SECONDS); the oldest are forgotten first."""

# Follower delivery (subscriptions.py): the owner's follow list decides which channels this
# server joins, so it is bounded like everything else.
MAX_FOLLOWS = 4000
"""Authors of the owner's follow list this server subscribes to (the first ones in the list);
the overlay's MAX_CHANNELS leaves room beside them for the channels it forwards."""

DELIVERY_MODES = ("broadcast", "followers")
"""How this server sends its owner's posts, reposts and profiles (``--delivery``)."""

MODE_PROBE_SECONDS = 3600.0
"""A server in broadcast mode asks each followed author's server its delivery mode this often
(and at once when it starts following), joining the channel only of authors in followers mode:
an author switching modes is noticed within this long."""

MODE_PROBE_CHECK_SECONDS = 60.0
MODE_PROBES_PER_CHECK = 80
MODE_PROBES_IN_FLIGHT = 16
"""Who is due to be asked again is looked at this often, at most this many each time (80 a minute
covers MAX_FOLLOWS in an hour), and at most MODE_PROBES_IN_FLIGHT questions are out at once, the
next asked as one is answered (a long follow list read at start leaves the task set to the rest
of the node's work)."""
