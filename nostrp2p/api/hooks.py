"""What the REST API tells the node layer (the overlay side of the server)."""

from __future__ import annotations

from typing import Iterable

from zope.interface import Interface, implementer

from ..logging import Logger
from ..nostr import Event, Filter

log = Logger()


class INodeHooks(Interface):
    """The node layer as the REST API sees it. Both calls return at once (no Deferred): the
    client's answer never waits for the overlay."""

    def published(event):
        """The owner's new, verified event is stored; deliver it over the overlay."""

    def wanted(event_filter, held_events, client=None):
        """The client asked for ``event_filter`` (ids or authors) and this server holds
        ``held_events`` of it; fetch what is missing or stale from the authors' servers.
        ``client``: the client's address, None for the owner's client (owner_clients.py);
        what another address may cause is bounded."""


@implementer(INodeHooks)
class NoOverlay:
    """For a server running without the overlay: events stay local, nothing is fetched."""

    def published(self, event: Event) -> None:
        log.debug("stored {event_id} (kind {kind}); no overlay to deliver it",
                 event_id=event.id_hex, kind=event.kind)

    def wanted(self, event_filter: Filter, held_events: Iterable[Event], client=None) -> None:
        log.debug("no overlay to fetch what /req asked for beyond the {held} held events",
                  held=len(list(held_events)))
