"""Which way reaches a server: directly, or through which relay. This is where a relay is
chosen (``route_around``): first the relays the destination named for itself, then the servers
whose FOUND named it (they know it), then our active neighbours; one not tried yet each time
direct contact, or the relay before, did not get through (for a server last reached directly,
at most RELAY_SILENT_MAX silent ones per message: fallen silent, it is most likely down). It
also remembers the way a relayed server reached us (our answers go back that way), whose owner
key each server serves (a relay routes by it), and when to ask a relay for an introduction
(hole punching) so that later messages may go direct."""

from __future__ import annotations

from nostrp2p.bounded import RecentTable
from nostrp2p.mesh import limits
from nostrp2p.mesh.descriptor import Descriptor


class Reachability:
    def __init__(self, count, router, membership, punch):
        self.count = count  # count(counter name)
        self.router = router  # the routing table: contacts, and lookups for a server's relays
        self.membership = membership  # our active neighbours: relays of last resort
        self.punch = punch  # punch(destination, introducer, now): ask for an introduction
        self.routes = RecentTable(limits.RELAY_ROUTES_MAX)  # destination -> relay descriptor
        self.hints = RecentTable(limits.RELAY_HINTS_MAX)  # destination -> [candidate relays]
        self.tried = RecentTable(limits.RELAY_ROUTES_MAX)  # destination -> {relays tried}
        # destinations last reached directly (not through a relay since): when one falls silent
        # it is most likely down, and only RELAY_SILENT_MAX silent relays are tried for it
        self.direct = RecentTable(limits.RELAY_ROUTES_MAX)
        self.silent = RecentTable(limits.RELAY_ROUTES_MAX)  # destination -> silent relays
        self.named = RecentTable(limits.RELAY_HINTS_MAX)  # destinations that named their relays
        # servers we unicast to or were relayed from -> their owner keys (a relay routes by it)
        self.owners = RecentTable(limits.RELAY_ROUTES_MAX)
        self.punched = RecentTable(limits.RELAY_ROUTES_MAX)  # destination -> when introduced

    def hint(self, destination: bytes, relay: Descriptor, named: bool = False) -> None:
        """``relay`` told us of ``destination``, or ``destination`` ``named`` it as a relay: it
        may be able to reach it for us."""
        if relay.overlay_key == destination:
            return
        if named:
            self.named.keep(destination, None)
        hints = [relay] + [h for h in self.hints.get(destination, []) if h.overlay_key != relay.overlay_key]
        self.hints.keep(destination, hints[: limits.RELAY_HINTS_PER_DESTINATION])

    def relay_for(self, destination: bytes) -> Descriptor | None:
        """The relay messages to ``destination`` go through, or None: they go direct."""
        return self.routes.get(destination)

    def route_around(self, destination: bytes, now: float, refused: bool = False) -> bool:
        """Direct contact with ``destination`` (or its relay) failed: use a relay not tried yet,
        if any is left. For a server we last reached directly, a relay that said nothing counts
        (one that ``refused`` answered), and after RELAY_SILENT_MAX the message is given up,
        the relays not tried yet kept for the next one: a server that was reachable and fell
        silent is most likely down, and is not sought through every relay we know for each
        message sent to it."""
        if not refused and destination in self.routes and destination in self.direct:
            silent = self.silent.get(destination, 0) + 1
            if silent >= limits.RELAY_SILENT_MAX:
                self.silent.pop(destination, None)
                self.routes.pop(destination, None)
                self.count("relay_routes_given_up")
                return False
            self.silent.keep(destination, silent)
        if destination not in self.tried and destination not in self.named:
            # Meanwhile, ask for the relays it named: they hold sessions with it.
            contact = self.router.table.descriptor_of(destination)
            if contact is not None:
                self.router.seek_relays(contact, now)
        tried = self.tried.get(destination)
        if tried is None:
            tried = set()
            self.tried.keep(destination, tried)
        candidates = list(self.hints.get(destination, ()))
        candidates += [d for d in self.membership.active.values()]
        for relay in candidates:
            if relay.overlay_key not in tried and relay.overlay_key != destination:
                tried.add(relay.overlay_key)
                self.punched.pop(destination, None)  # this one introduces us at once
                self.routes.keep(destination, relay)
                self.count("relay_route_chosen")
                return True
        self.routes.pop(destination, None)
        self.tried.pop(destination, None)  # a later message starts over, direct first
        self.silent.pop(destination, None)
        return False

    def reached(self, destination: bytes) -> None:
        """A message to ``destination`` got through: its relays may all be tried again later."""
        self.tried.pop(destination, None)
        self.silent.pop(destination, None)

    def reached_directly(self, destination: bytes) -> None:
        """A session with ``destination`` was made on a direct path."""
        self.direct.keep(destination, None)

    def unreachable(self, destination: bytes) -> None:
        """Neither directly nor through any relay: it is no contact of ours any more."""
        self.router.forget(destination)

    def reached_us_through(self, origin: bytes, origin_owner: bytes, via: Descriptor) -> None:
        """``origin`` authenticated itself through the relay ``via``: what we send it, in this
        session or a later one, goes the way it came (until a direct session exists)."""
        self.direct.pop(origin, None)
        self.routes.keep(origin, via)
        self.note_owner(origin, origin_owner)

    def note_owner(self, overlay_key: bytes, owner: bytes, replace: bool = True) -> None:
        """``overlay_key`` serves ``owner`` (a hint only; ``replace=False``: unless known)."""
        if replace or overlay_key not in self.owners:
            self.owners.keep(overlay_key, owner)

    def owner_of(self, overlay_key: bytes) -> bytes | None:
        known = self.owners.get(overlay_key)
        if known is None:
            desc = self.router.table.descriptor_of(overlay_key)
            known = desc.owner if desc is not None else None
        return known

    def introduce_now_and_then(self, destination: bytes, relay: Descriptor, now: float) -> None:
        """Have the relay introduce us to ``destination`` (when relaying starts, with each new
        relay, then every PUNCH_RETRY_INTERVAL), so that later messages may go direct."""
        asked = self.punched.get(destination)
        if asked is not None and now - asked < limits.PUNCH_RETRY_INTERVAL:
            return
        self.punched.keep(destination, now)
        self.punch(destination, relay, now)
