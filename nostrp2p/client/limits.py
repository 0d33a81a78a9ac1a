"""Bounds of the command-line client."""

HTTP_TIMEOUT_SECONDS = 15.0
"""A request to the server that takes longer is given up, with one line saying so."""

MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""A server answer longer than this is refused (the REST API caps its answers well below)."""

TIMELINE_EVENTS = 300
"""Events asked for by ``timeline``: the mobile client's first poll."""

MAX_PROFILE_LOOKUPS = 100
"""Authors whose profile ``timeline`` asks for, at most (one request each, as the app does);
others are shown by their npub."""

MAX_SECRET_FILE_BYTES = 4096
"""A secret key file is a line of nsec or hex: anything longer is not one."""

MAX_POST_BYTES = 64 * 1024
"""Text of one post or reply, at most (UTF-8): the server refuses events far larger anyway."""
