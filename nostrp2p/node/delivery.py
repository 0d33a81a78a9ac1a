"""Where an event the owner published goes, kind by kind (docs/API.md lists the same table).

| kind | delivery |
| 1 with `p` tags naming others and no `q` tag (mention, reply) | unicast to each named server |
| 1 otherwise (post, quote repost), 6 (repost), 0 (profile)      | broadcast to every server, or|
|                                                                | down the owner's channel to  |
|                                                                | its followers (``--delivery  |
|                                                                | followers``, node.py)        |
| 3 (follow list)                                                | stored; others fetch it      |
| 7 (reaction)                                                   | unicast to the first `p` tag |
|                                                                | (stored only when it is ours)|
| anything else                                                  | refused                      |

A unicast-only event (mention, reply, reaction) is kept only by its author's server and the
servers it is addressed to (:func:`kept_by`): a server answering a share or a fetch leaves it
out for anyone else, and a server given one it was not addressed to does not store it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..nostr import Event, EventError

PROFILE, POST, FOLLOWS, REPOST, REACTION = 0, 1, 3, 6, 7
ACCEPTED_KINDS = frozenset({PROFILE, POST, FOLLOWS, REPOST, REACTION})

_EVERYWHERE = frozenset({PROFILE, FOLLOWS, REPOST})  # kept by every server, whatever the tags

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class ToEveryone:
    pass


@dataclass(frozen=True)
class ToNamed:
    targets: tuple[bytes, ...]  # owner pubkeys, in tag order, without duplicates


@dataclass(frozen=True)
class StoreOnly:
    pass


Delivery = ToEveryone | ToNamed | StoreOnly


def _named_pubkeys(event: Event) -> list[bytes]:
    keys = []
    for i, tag in enumerate(event.tags):
        if len(tag) >= 2 and tag[0] == "p":
            if not _HEX64.match(tag[1]):
                raise EventError(f"tags[{i}][1]",
                                 "a p tag must hold a 64-character lowercase hex pubkey")
            key = bytes.fromhex(tag[1])
            if key not in keys:
                keys.append(key)
    return keys


def plan_delivery(event: Event, owner: bytes) -> Delivery:
    """How to deliver an event its owner published; :class:`EventError` if it is refused."""
    if event.kind not in ACCEPTED_KINDS:
        raise EventError("kind", f"kind {event.kind} is not accepted (accepted: 0, 1, 3, 6, 7)")
    if event.kind == POST:
        others = [k for k in _named_pubkeys(event) if k != owner]
        if others and not event.has_tag("q"):
            return ToNamed(tuple(others))
        return ToEveryone()
    if event.kind == REACTION:
        named = _named_pubkeys(event)
        if not named:
            raise EventError("tags", "a reaction needs a p tag naming the reacted-to author")
        if named[0] == owner:
            return StoreOnly()  # a like of one's own post: its author's server is this one
        return ToNamed((named[0],))
    if event.kind == FOLLOWS:
        return StoreOnly()
    return ToEveryone()  # profile, repost


def kept_by(event: Event, owner: bytes) -> bool:
    """Whether the server of ``owner`` may hold ``event``: always its own owner's; a unicast-only
    event only when addressed to it (a reaction to one's own post, to nobody else); anything
    else, broadcasts and follow lists, everywhere."""
    if event.pubkey == owner:
        return True
    if event.kind in _EVERYWHERE or (event.kind == POST and not event.has_tag("p")):
        return True  # what plan_delivery broadcasts or stores without naming anyone
    try:
        delivery = plan_delivery(event, event.pubkey)
    except EventError:
        return False  # its author's server would have refused it: nobody else needs it
    if isinstance(delivery, ToNamed):
        return owner in delivery.targets
    return event.kind != REACTION
