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

from .connection import RelayFactory
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
    factory: RelayFactory = None

    def __post_init__(self):
        self.factory = RelayFactory(self)


__all__ = ["LiveHub", "Relay", "RelayRoot", "RelaySettings"]
