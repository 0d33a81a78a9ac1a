"""A Site whose requests refuse an oversized body before reading it.

twisted.web reads a whole request body before rendering. Here the request looks at the
declared Content-Length as soon as the headers are in, and counts the bytes of a chunked body
as they arrive; past ``MAX_REQUEST_BODY_BYTES`` it answers 413 at once, so the rest is never
buffered. It then closes the way RFC 9112 section 9.6 asks (a lingering close): it stops
sending, and reads and drops what the client is still sending for a little while, so that the
client, busy writing its body, is not reset before it reads the 413.
"""

from __future__ import annotations

import io

from twisted.web.server import Request, Site

from ..logging import Logger
from . import limits
from .connection_limit import AddressSlots, address_group
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
        self.channel.transport.write(_too_large_response(reason))
        _LingeringClose(self.channel)


class _LingeringClose:
    """Takes over a channel whose answer is written: half-closes it and drops what still comes,
    up to LINGER_MAX_BYTES or LINGER_SECONDS, then closes it."""

    def __init__(self, channel):
        from twisted.internet import reactor

        self.transport = channel.transport
        self.left = limits.LINGER_MAX_BYTES
        self.lost = channel.connectionLost
        channel.dataReceived = self.discard
        channel.connectionLost = self.connection_lost
        half_close = getattr(self.transport, "loseWriteConnection", None)
        if half_close is not None:
            half_close()  # FIN once the answer is sent: the client reads it, then closes
        self.timer = reactor.callLater(limits.LINGER_SECONDS, self.transport.loseConnection)

    def discard(self, data: bytes) -> None:
        self.left -= len(data)
        if self.left < 0:
            self.transport.abortConnection()

    def connection_lost(self, reason) -> None:
        if self.timer.active():
            self.timer.cancel()
        self.lost(reason)


class ApiSite(Site):
    requestFactory = BoundedRequest

    def __init__(self, resource, on_request=None, reactor=None):
        # Bodies are JSON. Twisted would otherwise parse form and multipart bodies into
        # request.args, costing an email-header parse per request, and answer a malformed
        # multipart body with a bare 400 that has neither CORS headers nor a JSON reason.
        super().__init__(resource, parsePOSTFormSubmission=False,
                         timeout=limits.HTTP_IDLE_SECONDS, reactor=reactor)
        self.on_request = on_request  # called with each answered request (metrics)
        self.slots = AddressSlots()

    def buildProtocol(self, addr):
        host = getattr(addr, "host", None)
        if not self.slots.room_for(host):
            refused = self.slots.refused
            if refused in (1, 10, 100) or refused % 1000 == 0:
                log.warn("refused an HTTP connection from {group}: {most} are open from there "
                         "already ({refused} refused so far)", group=address_group(host),
                         most=self.slots.most, refused=refused)
            return None  # Twisted closes the connection at once
        protocol = super().buildProtocol(addr)
        # The HTTP/1.1 channel requests see (``request.channel``) is inside Twisted's generic
        # protocol; the slot is held under it so that a WebSocket upgrade can give it back.
        channel = getattr(protocol, "_channel", protocol)
        self.slots.take(channel, host)
        lost = protocol.connectionLost

        def connection_lost(reason):
            self.slots.give_back(channel)
            lost(reason)

        protocol.connectionLost = connection_lost
        return protocol

    def upgraded(self, request) -> None:
        """``request``'s connection now belongs to a WebSocket, which is counted elsewhere."""
        self.slots.give_back(request.channel)
    # Twisted's access log line per request is noise for a personal server's two endpoints.
    noisy = False

    def log(self, request):
        if self.on_request is not None:
            self.on_request(request)
