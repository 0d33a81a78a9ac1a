"""The NIP-01 relay interface over WebSocket, on the REST API's own endpoint (docs/API.md).

- ``resource.py``: ``/`` serves WebSocket upgrades and the NIP-11 document, the rest is REST.
- ``connection.py``: one client connection (autobahn): EVENT, REQ, CLOSE, AUTH.
- ``messages.py``: NIP-01 messages decoded into typed values, and the frames sent back.
- ``hub.py``: newly stored events offered to every open subscription.
- ``outbox.py``: each connection's bounded outgoing queue (back-pressure, slow readers).
- ``auth.py``: NIP-42; ``info.py``: NIP-11; ``settings.py``: what a deployment may change.
"""

from __future__ import annotations

from dataclasses import dataclass

from .hub import LiveHub
from .resource import RelayRoot
from .settings import RelaySettings


@dataclass(eq=False)
class Relay:
    """What every connection shares."""

    store: object
    node: object
    owner: bytes
    writer: object  # nostrp2p.api.writes.Writer
    hub: LiveHub
    settings: RelaySettings
    clock: object
    factory: object = None  # the RelayFactory, once a client asked for a WebSocket

    def websocket_factory(self):
        """The connections' factory, made at the first WebSocket upgrade: autobahn (with the
        parts of it it loads, about 5 MB) stays out of a server no Nostr client talks to."""
        if self.factory is None:
            from .connection import RelayFactory
            self.factory = RelayFactory(self)
        return self.factory


__all__ = ["LiveHub", "Relay", "RelayRoot", "RelaySettings"]
