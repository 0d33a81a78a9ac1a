"""Every bound of the event store, in one place.

They keep a home server's memory flat however long it runs: the number of events kept, the
in-memory window, how much one query may scan, how many undelivered messages wait for resend.
"""

MAX_EVENTS = 100_000
"""Events kept in Redis (default; StoreService takes another). The oldest go first, except each
author's current profile (kind 0) and follow list (kind 3), which are never trimmed."""

ADD_BATCH_MAX = 256
"""Events written by one script call at most: the adds made in one reactor turn are coalesced
(one round trip and one argument list instead of one per event), up to this many."""

TRIM_BATCH = 16
"""Oldest events removed by one add at most once over MAX_EVENTS: trimming is incremental, each
write pays a small bounded cost and no scan ever stops the world."""

RECENT_IDS_PER_GENERATION = 100_000
"""Ids per generation of the filter of recently added ids (recent_ids.py): two generations of
16 bits an id, 512 KB in all; it remembers at least this many of the newest ids."""

TIMELINE_MAX_EVENTS = 2_000
"""Events in the in-memory window of recent events."""

TIMELINE_MAX_BYTES = 4 * 1024 * 1024
"""Packed bytes of the events in the in-memory window (a few big events cannot blow it up)."""

MAX_ANSWER_EVENTS = 500
"""Events one query returns at most, whatever limit the filter asks for."""

QUERY_PAGE = 200
"""Index entries read from Redis per round trip while a query scans."""

QUERY_FIRST_PAGE_MIN = 16
"""Smallest first page of a scan (a limit of 1 with a kind filter should not read one by one)."""

QUERY_MAX_SCANNED = 20_000
"""Index entries one query may examine before it answers with what it found: a filter that
matches almost nothing (a rare #tag) must not walk the whole store."""

AUTHOR_INDEX_MAX = 16
"""Filters naming at most this many authors walk each author's own index (concurrently); more
authors (a follow list's timeline) walk the global time index once, which on a home server is
mostly followees' events anyway."""

MAX_GET_IDS = 1_000
"""Ids looked up by one get()."""

MAX_RESEND_ITEMS = 10_000
"""Undelivered messages waiting for resend; when full, the one due soonest is dropped to make
room (it has waited longest)."""

MAX_RESEND_PAYLOAD_BYTES = 1024 * 1024
"""Size of one queued payload."""

MAX_RESEND_ATTEMPTS = 32
"""Attempts after which the store forgets an item even if the caller keeps rescheduling it."""

MAX_REFRESH_STAMPS = 100_000
"""Authors whose "last refreshed" time is remembered (per kind); beyond it a random one is
forgotten, which only means it may be refreshed again a little early."""

REDIS_READY_TIMEOUT_SECONDS = 30.0
"""How long the embedded redis-server may take to load its AOF and accept connections."""

REDIS_STOP_TIMEOUT_SECONDS = 10.0
"""How long the embedded redis-server may take to exit after SIGTERM before it gets SIGKILL."""

RESTART_BASE_SECONDS = 0.25
"""First delay before restarting an embedded redis-server that died; doubles each time."""

RESTART_MAX_SECONDS = 30.0
"""Longest delay between restarts."""

RESTART_STABLE_SECONDS = 60.0
"""A server that stayed up this long resets the restart backoff."""

MAX_OUTPUT_LINE_BYTES = 8 * 1024
"""Bytes of redis-server output kept while waiting for the end of a line."""

UNIX_SOCKET_PATH_MAX = 100
"""Longest socket path connected to directly (sun_path holds 108 bytes on Linux, 104 on BSD)."""

ZSET_PACKED_ENTRIES_MAX = 16
"""Entries up to which the embedded redis-server keeps a sorted set packed (its default, 128,
made the RSS creep up by a quarter over 200,000 events ingested: see docs/STORE.md)."""
