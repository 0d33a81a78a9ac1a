"""CORS and Private Network Access headers: the web build of the client runs in a browser on
another origin, and Chrome asks before letting a public page talk to a private address."""

from __future__ import annotations

ALLOWED_METHODS = b"POST, OPTIONS"

ALLOWED_HEADERS = (
    b"content-type, accept, accept-encoding, content-encoding, "
    b"access-control-request-method, access-control-request-private-network"
)

CORS_HEADERS = (
    (b"Access-Control-Allow-Origin", b"*"),
    (b"Access-Control-Allow-Methods", ALLOWED_METHODS),
    (b"Access-Control-Allow-Headers", ALLOWED_HEADERS),
    (b"Access-Control-Allow-Private-Network", b"true"),
    (b"Access-Control-Max-Age", b"600"),
)
"""On every response, errors included: a browser hides an answer without them from the page."""


def add_cors_headers(request) -> None:
    for name, value in CORS_HEADERS:
        request.responseHeaders.setRawHeaders(name, [value])
