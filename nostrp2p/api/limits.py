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

GZIP_LEVEL = 5
"""Level for compressing /req answers: bench/rest.py measured 5 as most of level 9's
saving for a fraction of its time on 300-event timelines."""

GZIP_MIN_BYTES = 512
"""Answers shorter than this are sent uncompressed: gzip's header would eat the saving."""

ACCEPTED_KINDS = frozenset({0, 1, 3, 6, 7})
"""Kinds /publish accepts (SEED-BEHAVIOUR.md: profile, post, follow list, repost, reaction)."""
