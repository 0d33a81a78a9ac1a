"""The root of the server's one HTTP endpoint: WebSocket upgrades and NIP-11 on ``/``, every
other request to the REST API (so ``ws://``/``wss://`` and ``/publish``/``/req`` share the
port and the ``tcp:``/``ssl:`` endpoint string)."""

from __future__ import annotations

from autobahn.twisted.resource import WebSocketResource
from twisted.web.resource import Resource

from ..cors import add_cors_headers
from .info import info_body, wants_info


def is_websocket_upgrade(request) -> bool:
    upgrade = request.getHeader(b"upgrade") or b""
    return b"websocket" in upgrade.lower()


class RelayRoot(Resource):
    isLeaf = True

    def __init__(self, api: Resource, relay):
        super().__init__()
        self._api = api
        self.relay = relay
        self._websocket = WebSocketResource(relay.factory)
        self._info = info_body(relay.owner, relay.writer.writable, relay.settings)

    def render(self, request):
        if request.path == b"/":
            if is_websocket_upgrade(request):
                # The connection now belongs to the WebSocket: the HTTP channel's idle timer
                # would otherwise fire hours later on a channel with no transport.
                request.channel.setTimeout(None)
                request.site.upgraded(request)
                return self._websocket.render(request)
            if request.method == b"GET" and wants_info(request):
                add_cors_headers(request)
                request.setHeader(b"content-type", b"application/nostr+json")
                request.setHeader(b"content-length", b"%d" % len(self._info))
                return self._info
        return self._api.render(request)
