"""Finding the server of an owner key before a message can go to it: one lookup through the
routing table, and once more LOOKUP_RETRY_DELAY later if it found nothing (a server that just
came back may not have announced itself yet), before the send fails with UnknownKey. Messages
waiting so are bounded in all (MAX_OUTGOING_MESSAGES) and per owner key (MAX_OUTGOING_PER_PEER),
so that sends to one unknown server cannot take every place."""

from __future__ import annotations

import collections

from nostrp2p.mesh import limits
from nostrp2p.mesh.errors import Unreachable, UnknownKey


class Locator:
    def __init__(self, node, router):
        self.node = node  # the core: timers, counters
        self.router = router
        self.locating: dict[bytes, object] = {}  # message id -> done, while its server is looked up
        self.per_owner: collections.Counter = collections.Counter()  # owner -> messages waiting

    def locate(self, mid: bytes, owner: bytes, now: float, done, found) -> None:
        """``found(descriptor, now)`` once the server of ``owner`` is known; else message
        ``mid`` fails: ``done(error, None, now)``."""
        if len(self.locating) >= limits.MAX_OUTGOING_MESSAGES:
            self.node.count("drop_out_unicast_full")
            done(Unreachable("too many messages waiting for their server to be found"), None, now)
            return
        if self.per_owner[owner] >= limits.MAX_OUTGOING_PER_PEER:
            self.node.count("drop_out_unicast_full")
            done(Unreachable("too many messages waiting for that server to be found"), None, now)
            return
        self.locating[mid] = done
        self.per_owner[owner] += 1

        def located(desc, now, last_try=False):
            if self.locating.get(mid) is not done:
                return  # the overlay stopped meanwhile and said so
            if desc is not None or last_try:
                del self.locating[mid]
                self._waiting_done(owner)
            if desc is not None:
                found(desc, now)
            elif last_try:
                done(UnknownKey(f"no server of {owner.hex()[:16]}... found in the overlay"), None, now)
            else:
                self.node.timers.call_at(now + limits.LOOKUP_RETRY_DELAY, look_again)

        def look_again(now):
            self.router.locate(owner, now, lambda desc, now: located(desc, now, last_try=True))

        self.router.locate(owner, now, located)

    def _waiting_done(self, owner) -> None:
        self.per_owner[owner] -= 1
        if not self.per_owner[owner]:
            del self.per_owner[owner]

    def fail_all(self, error, now: float) -> None:
        locating, self.locating = self.locating, {}
        self.per_owner.clear()
        for done in locating.values():
            done(error, None, now)
