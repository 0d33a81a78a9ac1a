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
