"""Every bound of the REST API, in one place."""

from ..nostr import limits as nostr_limits
from ..store import limits as store_limits

MAX_REQUEST_BODY_BYTES = nostr_limits.MAX_EVENT_JSON_BYTES
"""A request body (an event or a filter) larger than this is refused with 413 as soon as its
Content-Length says so, or as soon as that many bytes of a chunked body have arrived; the
rest is never read. A filter at its largest (1000 authors) is about 70 KB, an event 256 KB."""

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
"""A /publish or /req whose store call has not answered by then is answered 503 (a /req from
the in-memory window if it can): while Redis is down or restarting the client hears within
2 s. A write given up on goes on, and its event is delivered if it completes."""

MAX_WRITES_WAITING = 256
"""Published events whose store write is still going (Redis down: they wait for it); more are
refused with 503 at once."""

MAX_UNSETTLED_WRITES = 1024
"""Events whose write failed without telling whether Redis applied it, remembered so that a
retry answered "not new" still delivers them; the oldest are forgotten first."""
