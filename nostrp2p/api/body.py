"""Reading a request body: bounded, optionally gzip-encoded by the client."""

from __future__ import annotations

import zlib

from . import limits
from .errors import ApiError


def read_body(request) -> bytes:
    """The request body, inflated if the client gzipped it; ApiError when over the bound,
    badly encoded or in an encoding we do not speak."""
    # BoundedRequest has refused oversized bodies already; this bound covers other Sites
    # (tests' in-memory agents) with the same answer.
    raw = request.content.read(limits.MAX_REQUEST_BODY_BYTES + 1)
    if len(raw) > limits.MAX_REQUEST_BODY_BYTES:
        raise ApiError(413, "body", f"body is over the limit of {limits.MAX_REQUEST_BODY_BYTES} bytes")
    encodings = request.requestHeaders.getRawHeaders(b"content-encoding") or []
    tokens = [t.strip().lower() for header in encodings for t in header.split(b",") if t.strip()]
    for token in reversed(tokens):
        if token in (b"gzip", b"x-gzip"):
            raw = _gunzip(raw)
        elif token != b"identity":
            raise ApiError(415, "content-encoding",
                           f"{token.decode('latin-1')!r} is not supported (gzip or identity)")
    return raw


def _gunzip(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limits.MAX_INFLATED_BODY_BYTES + 1)
    except zlib.error as e:
        raise ApiError(400, "content-encoding", f"body is not valid gzip: {e}") from None
    if len(out) > limits.MAX_INFLATED_BODY_BYTES:
        raise ApiError(413, "body",
                       f"gzip body inflates past the limit of {limits.MAX_INFLATED_BODY_BYTES} bytes")
    if not inflater.eof:
        raise ApiError(400, "content-encoding", "gzip body is truncated")
    if inflater.unused_data:
        raise ApiError(400, "content-encoding", "data after the end of the gzip stream")
    return out


def accepts_gzip(request) -> bool:
    for header in request.requestHeaders.getRawHeaders(b"accept-encoding") or []:
        for item in header.split(b","):
            name, _, params = item.strip().partition(b";")
            if name.strip().lower() not in (b"gzip", b"*"):
                continue
            params = params.replace(b" ", b"").lower()
            if params.startswith(b"q=") and _zero(params[2:]):
                continue
            return True
    return False


def _zero(q: bytes) -> bool:
    try:
        return float(q) == 0.0
    except ValueError:
        return False
