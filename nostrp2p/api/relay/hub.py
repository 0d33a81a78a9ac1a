"""Live events for open subscriptions: every event this server stores (the owner's own through
either door, what the overlay brings, what a fetch returns) is offered to every open
connection, which sends it on the subscriptions it matches.

The hub also keeps each event's NIP-01 JSON text by id (bounded), so a stored answer or a
fan-out to a thousand subscriptions encodes an event once.
"""

from __future__ import annotations

from ...logging import Logger
from ...nostr import Event
from .. import limits
from ..answers import Lru
from .messages import event_json

log = Logger()


class LiveHub:
    def __init__(self):
        self.connections: set = set()
        self._json = Lru(limits.EVENT_JSON_CACHED)

    def json_of(self, event: Event) -> bytes:
        text = self._json.lookup(event.id)
        if text is None:
            text = event_json(event)
            self._json.keep(event.id, text)
        return text

    def stored(self, event: Event) -> None:
        """An event was stored just now (new to this server)."""
        if not self.connections:
            return
        text = self.json_of(event)
        for connection in list(self.connections):
            try:
                connection.live(event, text)
            except Exception:
                log.failure("a relay connection failed on a live event")
