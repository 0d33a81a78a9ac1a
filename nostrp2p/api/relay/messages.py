"""NIP-01 messages over the WebSocket: what a client may send, decoded into typed values, and
the frames the relay sends back.

Every malformed message is a :class:`ProtocolError` carrying the answer NIP-01 wants for it:
an ``OK false`` when the event id can be read, a ``CLOSED`` when the subscription id can,
otherwise a ``NOTICE``. Machine-readable prefixes (``invalid:``, ``blocked:``...) start every
refusal's text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from ...nostr import Event, EventError, Filter, event_from_json, filter_from_json, strict_json_loads
from .. import limits


@dataclass(frozen=True)
class EventMessage:
    event: Event


@dataclass(frozen=True)
class ReqMessage:
    subscription: str
    filters: tuple[Filter, ...]


@dataclass(frozen=True)
class CloseMessage:
    subscription: str


@dataclass(frozen=True)
class AuthMessage:
    event: Event


ClientMessage = EventMessage | ReqMessage | CloseMessage | AuthMessage


class ProtocolError(Exception):
    """A message refused; ``frame`` is the answer to send."""

    def __init__(self, frame: bytes):
        super().__init__(frame.decode("utf-8", "replace"))
        self.frame = frame


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def notice(text: str) -> bytes:
    return dumps(["NOTICE", text])


def ok(event_id: str, accepted: bool, text: str = "") -> bytes:
    return dumps(["OK", event_id, accepted, text])


def closed(subscription: str, text: str) -> bytes:
    return dumps(["CLOSED", subscription, text])


def eose(subscription: str) -> bytes:
    return dumps(["EOSE", subscription])


def auth_challenge(challenge: str) -> bytes:
    return dumps(["AUTH", challenge])


def event_frame_prefix(subscription: str) -> bytes:
    """What comes before the event in ``["EVENT", sub, event]``: encoded once per
    subscription, so each frame is a concatenation with the event's JSON text (encoded once
    for every reader)."""
    return b'["EVENT",' + dumps(subscription) + b","


def event_frame(prefix: bytes, event_json: bytes) -> bytes:
    return prefix + event_json + b"]"


def event_json(event: Event) -> bytes:
    return dumps(event.to_json())


def decode(payload: bytes) -> ClientMessage:
    """The client's message, or :class:`ProtocolError` with the NIP-01 answer."""
    try:
        message = strict_json_loads(payload)
    except EventError as e:
        raise ProtocolError(notice(f"invalid: {e.reason}")) from None
    if not isinstance(message, list) or not message or not isinstance(message[0], str):
        raise ProtocolError(notice('invalid: a message is a JSON array that starts with its '
                                   'verb ("EVENT", "REQ", "CLOSE" or "AUTH")'))
    verb = message[0]
    decoder = _DECODERS.get(verb)
    if decoder is None:
        shown = verb[:32]
        raise ProtocolError(notice(f"invalid: unknown message {shown!r} "
                                   '(this relay speaks "EVENT", "REQ", "CLOSE" and "AUTH")'))
    return decoder(message)


def _event_id(obj: Any) -> Optional[str]:
    """The event's id as sent, when it looks like one (so a refusal can be an OK)."""
    if isinstance(obj, dict):
        value = obj.get("id")
        if isinstance(value, str) and len(value) == 64:
            return value
    return None


def _signed_event(message: list, verb: str) -> Event:
    if len(message) != 2:
        raise ProtocolError(notice(f'invalid: {verb} takes one event: ["{verb}", {{...}}]'))
    try:
        return event_from_json(message[1])
    except EventError as e:
        event_id = _event_id(message[1])
        text = f"invalid: {e.field} {e.reason}"
        raise ProtocolError(ok(event_id, False, text) if event_id else notice(text)) from None


def _decode_event(message: list) -> EventMessage:
    return EventMessage(_signed_event(message, "EVENT"))


def _decode_auth(message: list) -> AuthMessage:
    return AuthMessage(_signed_event(message, "AUTH"))


def _subscription(message: list, verb: str) -> str:
    if len(message) < 2 or not isinstance(message[1], str) or not message[1]:
        raise ProtocolError(notice(f"invalid: {verb} needs a subscription id (a non-empty string)"))
    subscription = message[1]
    if len(subscription) > limits.MAX_SUBSCRIPTION_ID_CHARS:
        raise ProtocolError(notice(f"invalid: subscription ids have at most "
                                   f"{limits.MAX_SUBSCRIPTION_ID_CHARS} characters"))
    return subscription


def _decode_req(message: list) -> ReqMessage:
    subscription = _subscription(message, "REQ")
    raw_filters = message[2:]
    if not raw_filters:
        raise ProtocolError(closed(subscription, "invalid: a REQ needs at least one filter"))
    if len(raw_filters) > limits.MAX_FILTERS:
        raise ProtocolError(closed(subscription, f"invalid: {len(raw_filters)} filters, over "
                                                 f"the limit of {limits.MAX_FILTERS}"))
    filters = []
    for i, raw in enumerate(raw_filters):
        try:
            filters.append(filter_from_json(raw))
        except EventError as e:
            raise ProtocolError(closed(subscription, f"invalid: filter {i}: {e.field} "
                                                     f"{e.reason}")) from None
    return ReqMessage(subscription, tuple(filters))


def _decode_close(message: list) -> CloseMessage:
    subscription = _subscription(message, "CLOSE")
    if len(message) != 2:
        raise ProtocolError(notice('invalid: CLOSE takes one subscription id: ["CLOSE", "id"]'))
    return CloseMessage(subscription)


_DECODERS = {"EVENT": _decode_event, "REQ": _decode_req, "CLOSE": _decode_close,
             "AUTH": _decode_auth}
