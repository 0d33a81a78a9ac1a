"""A Site whose requests refuse an oversized body before reading it.

twisted.web reads a whole request body before rendering. Here the request looks at the
declared Content-Length as soon as the headers are in, and counts the bytes of a chunked body
as they arrive; past ``MAX_REQUEST_BODY_BYTES`` it answers 413 at once and closes the
connection, so the rest is never read nor buffered.
"""

from __future__ import annotations

import io

from twisted.web.server import Request, Site

from ..logging import Logger
from . import limits
from .cors import CORS_HEADERS
from .errors import error_body

log = Logger()


def _too_large_response(reason: str) -> bytes:
    body = error_body("body", reason)
    head = [b"HTTP/1.1 413 Request Entity Too Large",
            b"Content-Type: application/json",
            b"Content-Length: %d" % len(body),
            b"Connection: close"]
    head += [name + b": " + value for name, value in CORS_HEADERS]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class BoundedRequest(Request):
    max_body = limits.MAX_REQUEST_BODY_BYTES
    _refused = False
    _received = 0

    def gotLength(self, length):
        if length is not None and length > self.max_body:
            self._refuse(f"Content-Length {length} is over the limit of {self.max_body} bytes")
            return
        # Bounded above, so memory is fine and no temporary file is needed.
        self.content = io.BytesIO()

    def handleContentChunk(self, data):
        if self._refused:
            return
        self._received += len(data)
        if self._received > self.max_body:
            self._refuse(f"body is over the limit of {self.max_body} bytes")
            return
        self.content.write(data)

    def requestReceived(self, command, path, version):
        if self._refused:
            return
        super().requestReceived(command, path, version)

    def _refuse(self, reason: str) -> None:
        self._refused = True
        self.content = io.BytesIO()
        # Otherwise the channel would send "100 Continue" after our answer.
        self.requestHeaders.removeHeader(b"expect")
        log.info("refused an oversized request body: {reason}", reason=reason)
        transport = self.channel.transport
        transport.write(_too_large_response(reason))
        self.channel.loseConnection()


class ApiSite(Site):
    requestFactory = BoundedRequest

    def __init__(self, resource, on_request=None):
        # Bodies are JSON. Twisted would otherwise parse form and multipart bodies into
        # request.args, costing an email-header parse per request, and answer a malformed
        # multipart body with a bare 400 that has neither CORS headers nor a JSON reason.
        super().__init__(resource, parsePOSTFormSubmission=False)
        self.on_request = on_request  # called with each answered request (metrics)
    # Twisted's access log line per request is noise for a personal server's two endpoints.
    noisy = False

    def log(self, request):
        if self.on_request is not None:
            self.on_request(request)
