"""Turning untrusted JSON (a client's /publish body) into a verified :class:`Event`.

Every refusal is an :class:`EventError` naming the field and the reason, so that the REST layer
can answer 400 with something a person can act on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import limits
from .errors import EventError
from .event import Event, Tags
from .signing import verify_event

_LOWER_HEX = re.compile(r"[0-9a-f]*\Z")


def _refuse_constant(name: str) -> Any:
    raise EventError("json", f"{name} is not valid JSON")


def strict_json_loads(body: bytes) -> Any:
    """Parse JSON text the way RFC 8259 means it: UTF-8, no NaN or Infinity, bounded nesting.

    Raises :class:`EventError` (field ``"json"``) for anything else.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise EventError("json", f"body is not UTF-8 (byte {e.start})") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise EventError("json", f"malformed at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise EventError("json", "nested too deeply") from None
    except ValueError as e:
        # Python refuses integers of more than 4,300 digits (CVE-2020-10735) with a bare
        # ValueError rather than a JSONDecodeError.
        raise EventError("json", f"malformed: {e}") from None


def check_text(field: str, value: Any, max_bytes: int) -> str:
    if not isinstance(value, str):
        raise EventError(field, f"must be a string, not {_json_type(value)}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        # JSON can spell a lone surrogate ("\ud800"); it is not text and has no UTF-8 form.
        raise EventError(field, "contains an unpaired UTF-16 surrogate") from None
    if size > max_bytes:
        raise EventError(field, f"is {size} bytes, over the limit of {max_bytes}")
    return value


def parse_hex(field: str, value: Any, size: int) -> bytes:
    """Lowercase hex of exactly ``size`` bytes, as NIP-01 writes ids, keys and signatures."""
    if not isinstance(value, str):
        raise EventError(field, f"must be a hex string, not {_json_type(value)}")
    if len(value) != 2 * size:
        raise EventError(field, f"must be {2 * size} hex characters, got {len(value)}")
    if not _LOWER_HEX.match(value):
        raise EventError(field, "must be lowercase hexadecimal")
    return bytes.fromhex(value)


def check_int(field: str, value: Any, low: int, high: int) -> int:
    # bool is an int subclass in Python; JSON true is not a number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise EventError(field, f"must be an integer, not {_json_type(value)}")
    if not low <= value <= high:
        raise EventError(field, f"must be between {low} and {high}")
    return value


def _text_element(field: str, element: Any) -> str:
    return check_text(field, element, limits.MAX_TAG_ELEMENT_BYTES)


def parse_tags(value: Any, field: str = "tags", element=_text_element) -> Tags:
    """Tags with every bound checked; ``element(field, value)`` turns one element into text
    (the JSON, packed and client forms differ only there)."""
    if not isinstance(value, list):
        raise EventError(field, f"must be an array, not {_json_type(value)}")
    if len(value) > limits.MAX_TAGS:
        raise EventError(field, f"has {len(value)} tags, over the limit of {limits.MAX_TAGS}")
    tags = []
    for i, tag in enumerate(value):
        if not isinstance(tag, list):
            raise EventError(f"{field}[{i}]", f"must be an array, not {_json_type(tag)}")
        if len(tag) > limits.MAX_TAG_ELEMENTS:
            raise EventError(
                f"{field}[{i}]",
                f"has {len(tag)} elements, over the limit of {limits.MAX_TAG_ELEMENTS}",
            )
        tags.append(tuple(element(f"{field}[{i}][{j}]", e) for j, e in enumerate(tag)))
    return tuple(tags)


def event_from_json(obj: Any, verify: bool = True) -> Event:
    """A verified event from a decoded NIP-01 JSON object; extra keys are ignored."""
    if not isinstance(obj, dict):
        raise EventError("event", f"must be a JSON object, not {_json_type(obj)}")
    for name in ("id", "pubkey", "created_at", "kind", "tags", "content", "sig"):
        if name not in obj:
            raise EventError(name, "is missing")
    event = Event(
        id=parse_hex("id", obj["id"], 32),
        pubkey=parse_hex("pubkey", obj["pubkey"], 32),
        created_at=check_int("created_at", obj["created_at"], 0, limits.MAX_CREATED_AT),
        kind=check_int("kind", obj["kind"], 0, limits.MAX_KIND),
        tags=parse_tags(obj["tags"]),
        content=check_text("content", obj["content"], limits.MAX_CONTENT_BYTES),
        sig=parse_hex("sig", obj["sig"], 64),
    )
    if verify:
        verify_event(event)
    return event


def event_from_json_bytes(body: bytes, verify: bool = True) -> Event:
    if len(body) > limits.MAX_EVENT_JSON_BYTES:
        raise EventError(
            "event", f"is {len(body)} bytes, over the limit of {limits.MAX_EVENT_JSON_BYTES}"
        )
    return event_from_json(strict_json_loads(body), verify=verify)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
