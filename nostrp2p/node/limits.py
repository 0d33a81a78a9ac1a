"""Every bound of the node layer, in one place."""

RESEND_BASE_SECONDS = 300.0
"""Resend backoff unit: retry n (1..RESEND_ATTEMPTS) is due RESEND_BASE * 2**n after the last."""

RESEND_ATTEMPTS = 10
"""After this many retries (5 min x 2^10: the last wait is about 3.5 days) an item is dropped."""

RATE_TABLE_SIZE = 4096
"""Peers (or authors) whose rate buckets are remembered; the least recently seen are forgotten."""

PEER_REQUESTS_PER_MINUTE = 120
"""Requests one peer may make of this server (profiles, follow lists, posts, shares)."""

PEER_EVENTS_PER_MINUTE = 600
"""Events one peer may deliver to this server."""

AUTHOR_EVENTS_PER_HOUR = 720
"""Events accepted from one author over the overlay: a busy human posts far less."""

MAX_FUTURE_SECONDS = 15 * 60
"""An event dated further ahead than this is refused: clocks drift, but not by days."""

SHARE_WINDOW_SECONDS = 3 * 24 * 3600
""""Share your events" covers the last three days."""

REFRESH_AFTER_SECONDS = 24 * 3600
"""A held profile or follow list older than this is refreshed from its author's server..."""

REFRESH_AT_MOST_EVERY_SECONDS = 3600
"""...at most once an hour per author."""

MAX_EVENTS_PER_ANSWER = 300
"""Events in one answer to a "share your events" or post request (fits one overlay message)."""
