"""Bounds of the admin endpoint."""

SAMPLE_SECONDS = 5.0
"""How often the admin service looks at the server (neighbours, events held, resend queue): the
status and the gauges of /metrics are at most this old, and "no neighbours for N minutes" is
measured from these looks."""

RECENT_FAILURES_SHOWN = 10
"""Delivery failures shown by status (the node keeps its own bounded list)."""

NEIGHBOURS_SHOWN = 64
"""Neighbours and sessions listed by status at most (the overlay's tables are bounded anyway)."""

RELAYED_SHOWN = 64
"""Servers reached through a relay listed by status at most."""

MAX_SOCKET_PATH_BYTES = 107
"""sun_path holds 108 bytes with the terminating zero on Linux: a longer path cannot be bound."""

API_ENDPOINTS = ("/publish", "/req")
"""Paths counted by name in the API metrics; any other path is counted as "other", so a client
cannot make the metrics grow by asking for many paths."""

API_METHODS = ("GET", "POST", "OPTIONS", "HEAD")
"""Methods counted by name; any other is counted as "other"."""

ALONE_WARNING_SECONDS = 30.0
"""A server with no neighbours for this long gets a warning in status: joining through a live
bootstrap server takes a few seconds."""
