"""The node layer's messages, carried by the overlay as opaque payloads (docs/PROTOCOL.md).

A payload is a MessagePack array ``[version, type, ...]``:

- ``[1, 1, [event, ...]]`` EVENTS: events delivered (broadcast, unicast, or a request's answer),
  each in the packed form of :mod:`nostrp2p.nostr.codec` (as a nested array, not a blob).
- ``[1, 2, what, argument]`` REQUEST: ``what`` is ``"profile"`` or ``"follows"`` (argument nil:
  the receiver's owner's), ``"post"`` (argument: the 32-byte event id) or ``"share"`` (argument:
  unix time; events held since then), answered with EVENTS; or ``"mode"`` (argument nil),
  answered with MODE.
- ``[1, 3, mode]`` MODE: how the answering server delivers its owner's posts, ``"broadcast"``
  or ``"followers"`` (``--delivery``). A server of an earlier version answers a "mode" request
  with an empty EVENTS (it cannot read the request): it broadcasts.

Decoding checks every type; a hostile payload raises :class:`MessageError` and nothing else.
Signatures are *not* checked here: the node verifies every event before believing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import msgpack

from ..nostr import Event, EventError
from ..nostr.codec import event_from_fields, event_to_fields
from ..nostr.limits import MAX_CREATED_AT, MAX_TAGS
from .limits import (DELIVERY_MODES, MAX_BROADCAST_PAYLOAD, MAX_EVENTS_PER_MESSAGE,
                     MAX_UNICAST_PAYLOAD)

VERSION = 1
EVENTS, REQUEST, MODE = 1, 2, 3
REQUEST_KINDS = frozenset({"profile", "follows", "post", "share", "mode"})

MAX_PAYLOAD_BYTES = max(MAX_UNICAST_PAYLOAD, MAX_BROADCAST_PAYLOAD)
"""A payload larger than this cannot have come through the overlay: refused before decoding."""


class MessageError(ValueError):
    """A payload from another server that is not a valid node message."""


@dataclass(frozen=True)
class EventsMessage:
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Request:
    what: str
    argument: Optional[object] = None  # None, a 32-byte id (post) or a unix time (share)


@dataclass(frozen=True)
class ModeMessage:
    mode: str  # one of DELIVERY_MODES


def encode_mode(mode: str) -> bytes:
    if mode not in DELIVERY_MODES:
        raise ValueError(f"unknown delivery mode {mode!r}")
    return msgpack.packb([VERSION, MODE, mode], use_bin_type=True)


def encode_events(events) -> bytes:
    return msgpack.packb([VERSION, EVENTS, [event_to_fields(e) for e in events]], use_bin_type=True)


_EVENTS_PREFIX = msgpack.packb([VERSION, EVENTS, []])[:-1]  # without the inner array header


def encode_events_within(events, max_bytes: int) -> tuple[bytes, int]:
    """The EVENTS message of the longest prefix of ``events`` whose encoding fits ``max_bytes``
    (callers pass them newest first, so the newest are kept), and how many it holds. Byte for
    byte what :func:`encode_events` gives for that prefix; each event is packed once."""
    packer = msgpack.Packer(use_bin_type=True)
    pieces = []
    size = len(_EVENTS_PREFIX)
    for event in events:
        piece = packer.pack(event_to_fields(event))
        if size + len(piece) + len(packer.pack_array_header(len(pieces) + 1)) > max_bytes:
            break
        size += len(piece)
        pieces.append(piece)
    header = packer.pack_array_header(len(pieces))
    return b"".join([_EVENTS_PREFIX, header, *pieces]), len(pieces)


def encode_request(request: Request) -> bytes:
    if request.what not in REQUEST_KINDS:
        raise ValueError(f"unknown request {request.what!r}")
    return msgpack.packb([VERSION, REQUEST, request.what, request.argument], use_bin_type=True)


def decode(payload: bytes) -> EventsMessage | Request | ModeMessage:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MessageError(f"payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
    try:
        message = msgpack.unpackb(
            payload, raw=False, strict_map_key=True, max_map_len=0, max_ext_len=0,
            max_array_len=max(MAX_TAGS, 10_000),
        )
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise MessageError(f"not MessagePack ({e.__class__.__name__})") from None
    if not isinstance(message, list) or len(message) < 2 or message[0] != VERSION:
        raise MessageError("not a node message of version 1")
    if message[1] == EVENTS and len(message) == 3 and isinstance(message[2], list):
        if len(message[2]) > MAX_EVENTS_PER_MESSAGE:
            raise MessageError(
                f"{len(message[2])} events, over the limit of {MAX_EVENTS_PER_MESSAGE}")
        try:
            return EventsMessage(tuple(event_from_fields(fields) for fields in message[2]))
        except EventError as e:
            raise MessageError(f"bad event: {e}") from None
    if message[1] == REQUEST and len(message) == 4:
        return _request(message[2], message[3])
    if message[1] == MODE and len(message) == 3 and message[2] in DELIVERY_MODES:
        return ModeMessage(message[2])
    raise MessageError("unknown message type")


def _request(what: object, argument: object) -> Request:
    if what in ("profile", "follows", "mode") and argument is None:
        return Request(what)
    if what == "post" and isinstance(argument, bytes) and len(argument) == 32:
        return Request(what, argument)
    if (what == "share" and isinstance(argument, int) and not isinstance(argument, bool)
            and 0 <= argument <= MAX_CREATED_AT):
        return Request(what, argument)
    raise MessageError(f"malformed request {what!r}")
