"""Which authors this server receives from: the owner's follow list (kind 3).

A server in followers mode joins the channel of each author its owner follows. One in broadcast
mode joins only the channels of followed authors whose servers send down a channel (it asks
them, :mod:`~nostrp2p.node.mode_probe`); the others' posts reach it by broadcast, and their
trees would cost heartbeats for nothing. Either way a follower gets an author's posts whatever
the author's mode, so a network can hold servers of both modes during a migration. In
followers mode the server also keeps nothing of authors its owner does not follow: posts of
strangers that still arrive by broadcast (from servers in broadcast mode) or in share answers are
passed on by the overlay and not stored (:meth:`Subscriptions.keeps`).
"""

from __future__ import annotations

import re
from typing import Iterable

from ..nostr import Event
from . import limits
from .delivery import FOLLOWS

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def followed_in(event: Event, owner: bytes) -> list[bytes]:
    """The authors a kind 3 event names (p tags with a valid key, in order, without the owner
    and duplicates), at most MAX_FOLLOWS of them."""
    out: dict[bytes, None] = {}
    for tag in event.tags:
        if len(tag) >= 2 and tag[0] == "p" and isinstance(tag[1], str) and _HEX64.match(tag[1]):
            key = bytes.fromhex(tag[1])
            if key != owner:
                out[key] = None
                if len(out) >= limits.MAX_FOLLOWS:
                    break
    return list(out)


class Subscriptions:
    def __init__(self, overlay, owner: bytes, counters, followers_mode: bool):
        self.overlay = overlay  # None: an overlay without channels (the follows are still known)
        self.owner = owner
        self.counters = counters
        self.followers_mode = followers_mode
        self.follows: set[bytes] = set()
        self.joined: set[bytes] = set()  # authors whose channel this server is in
        # Set by the node in broadcast mode: which followed authors' channels are worth joining.
        self.probe = None
        self._list_created_at = -1  # of the follow list applied (an older one changes nothing)

    def apply(self, event) -> None:
        """The owner's current follow list (None: none yet): join the channels of the authors
        it names, leave those of the authors it no longer names."""
        if event is None or event.kind != FOLLOWS or event.pubkey != self.owner:
            return
        if event.created_at < self._list_created_at:
            return
        self._list_created_at = event.created_at
        wanted = set(followed_in(event, self.owner))
        left, joined = self.follows - wanted, wanted - self.follows
        self.follows = wanted
        self.counters["unfollowed"] += len(left)
        self.counters["followed"] += len(joined)
        if self.overlay is None:
            return
        for author in left:
            if self.probe is not None:
                self.probe.forget(author)
            self._leave(author)
        for author in joined:
            if self.probe is not None:
                self.probe.track(author)  # joined once its server says it uses a channel
            else:
                self._join(author)

    def author_mode(self, author: bytes, uses_channel: bool) -> None:
        """What a followed author's server said of its delivery mode (broadcast mode only)."""
        if author not in self.follows:
            return
        if uses_channel:
            self._join(author)
        else:
            self._leave(author)

    def _join(self, author: bytes) -> None:
        if author not in self.joined:
            self.joined.add(author)
            self.overlay.follow(author)

    def _leave(self, author: bytes) -> None:
        if author in self.joined:
            self.joined.discard(author)
            self.overlay.unfollow(author)

    def follows_author(self, author: bytes) -> bool:
        return author in self.follows

    def keeps(self, event: Event) -> bool:
        """Whether this server stores ``event`` arriving from other servers: in broadcast mode
        everything the delivery rules allow; in followers mode only the owner's own, those of
        followed authors, and those that name the owner (mentions, replies, reactions)."""
        if not self.followers_mode or event.pubkey == self.owner or event.pubkey in self.follows:
            return True
        owner_hex = self.owner.hex()
        return any(len(tag) >= 2 and tag[0] == "p" and tag[1] == owner_hex for tag in event.tags)

    def kept(self, events: Iterable[Event]) -> list[Event]:
        events = list(events)
        kept = [e for e in events if self.keeps(e)]
        self.counters["not_followed"] += len(events) - len(kept)
        return kept
