"""NIP-01 filters, including the mobile client's conventions.

The client writes ``-1`` for "not set" in since, until and limit, and asks for kind 40000
(NostrP2P's own) to mean "any kind": the whole timeline this server holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from . import limits
from .errors import EventError
from .event import Event
from .parse import check_int, parse_hex

TIMELINE_KIND = 40000
"""The client's "every kind" pseudo-kind (timeline reads, "share your events" requests)."""

MAX_FILTER_VALUES = 1000
"""ids, authors, kinds or tag values in one filter: a follow list's worth of authors and more."""

_UNSET = -1


@dataclass(frozen=True)
class Filter:
    ids: Optional[frozenset[bytes]] = None
    authors: Optional[frozenset[bytes]] = None
    kinds: Optional[frozenset[int]] = None  # None: any kind
    tags: tuple[tuple[str, frozenset[str]], ...] = ()  # (("e", {...}), ("p", {...}))
    since: Optional[int] = None
    until: Optional[int] = None
    limit: Optional[int] = None

    def matches(self, event: Event) -> bool:
        if self.ids is not None and event.id not in self.ids:
            return False
        if self.authors is not None and event.pubkey not in self.authors:
            return False
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        if self.since is not None and event.created_at < self.since:
            return False
        if self.until is not None and event.created_at > self.until:
            return False
        for name, wanted in self.tags:
            if not any(len(t) >= 2 and t[0] == name and t[1] in wanted for t in event.tags):
                return False
        return True

    @property
    def is_timeline(self) -> bool:
        """True for the client's timeline read: any kind, no ids or authors."""
        return self.kinds is None and self.ids is None and self.authors is None and not self.tags


def _values(field: str, value: Any) -> list:
    if not isinstance(value, list):
        raise EventError(field, "must be an array")
    if len(value) > MAX_FILTER_VALUES:
        raise EventError(field, f"has {len(value)} values, over the limit of {MAX_FILTER_VALUES}")
    return value


def _optional_int(field: str, value: Any, high: int) -> Optional[int]:
    if value is None:
        return None
    value = check_int(field, value, _UNSET, high)
    return None if value == _UNSET else value


def filter_from_json(obj: Any) -> Filter:
    """A :class:`Filter` from a decoded JSON object; :class:`EventError` names what is wrong."""
    if not isinstance(obj, dict):
        raise EventError("filter", "must be a JSON object")
    ids = authors = kinds = None
    if "ids" in obj:
        ids = frozenset(parse_hex(f"ids[{i}]", v, 32) for i, v in enumerate(_values("ids", obj["ids"])))
    if "authors" in obj:
        authors = frozenset(
            parse_hex(f"authors[{i}]", v, 32) for i, v in enumerate(_values("authors", obj["authors"]))
        )
    if "kinds" in obj:
        kinds = frozenset(
            check_int(f"kinds[{i}]", v, 0, max(limits.MAX_KIND, TIMELINE_KIND))
            for i, v in enumerate(_values("kinds", obj["kinds"]))
        )
        if TIMELINE_KIND in kinds:
            kinds = None
    tags = []
    for key, value in obj.items():
        if isinstance(key, str) and len(key) == 2 and key[0] == "#" and key[1].isalpha():
            values = _values(key, value)
            if not all(isinstance(v, str) for v in values):
                raise EventError(key, "must be an array of strings")
            tags.append((key[1], frozenset(values)))
    return Filter(
        ids=ids,
        authors=authors,
        kinds=kinds,
        tags=tuple(sorted(tags)),
        since=_optional_int("since", obj.get("since"), limits.MAX_CREATED_AT),
        until=_optional_int("until", obj.get("until"), limits.MAX_CREATED_AT),
        limit=_optional_int("limit", obj.get("limit"), 2**31),
    )
