"""Encoding /req answers, with bounded caches.

Packing 300 events into the client's MessagePack form costs about 1.4 ms and gzip another
1 ms, several times what Klein itself costs per request. Events never change (the id is
the hash of the content), so each event's packed form is kept by id, and whole answers (by
the ids they hold) are kept already gzipped: a repeated timeline read costs a dict lookup.
The bytes are exactly ``client_wire.encode_events_answer``'s (tests check it).
"""

from __future__ import annotations

import gzip
from typing import Sequence

import msgpack

from ..bounded import RecentTable
from ..nostr import Event
from ..nostr.client_wire import event_to_client
from . import limits

_ANSWER_PREFIX = msgpack.packb({"Evts": []}, use_bin_type=True)[:-1]  # map(1), "Evts"


Lru = RecentTable  # the bounded most-recent table of nostrp2p/bounded.py, as api/ names it


class AnswerEncoder:
    def __init__(self):
        self._packed = RecentTable(limits.PACKED_EVENTS_CACHED)
        self._answers = RecentTable(limits.ANSWERS_CACHED)
        self._header = msgpack.Packer(use_bin_type=True)

    def encode(self, events: Sequence[Event], gzipped: bool) -> bytes:
        """The body of a /req answer for these events (in this order), gzipped or not."""
        key = (gzipped, tuple(e.id for e in events))
        answer = self._answers.lookup(key)
        if answer is None:
            answer = self._pack(events)
            if gzipped:
                answer = gzip.compress(answer, limits.GZIP_LEVEL, mtime=0)
            self._answers.keep(key, answer)
        return answer

    def _pack(self, events: Sequence[Event]) -> bytes:
        parts = [_ANSWER_PREFIX, self._header.pack_array_header(len(events))]
        for event in events:
            packed = self._packed.lookup(event.id)
            if packed is None:
                packed = msgpack.packb(event_to_client(event), use_bin_type=True)
                self._packed.keep(event.id, packed)
            parts.append(packed)
        return b"".join(parts)
