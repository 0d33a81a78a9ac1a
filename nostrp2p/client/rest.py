"""The server's REST API, called exactly as the mobile client calls it (CLIENT-WIRE in
docs/API.md): POST /publish with a signed event in NIP-01 JSON, POST /req with a filter,
answered in MessagePack. Only signed events and filters leave this process."""

from __future__ import annotations

import json

import msgpack

from ..nostr import Event
from ..nostr.client_wire import decode_events_answer
from ..nostr.errors import EventError
from .errors import ClientError
from .http import post_json

TIMELINE_KIND = 40000
PROFILE_KIND = 0
FOLLOW_LIST_KIND = 3


def _reason(body: bytes) -> str:
    try:
        return json.loads(body).get("error", {}).get("reason") or body[:200].decode("utf-8", "replace")
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")


class RestClient:
    def __init__(self, base_url: str):
        self.base_url = base_url

    def publish(self, event: Event) -> None:
        code, body = post_json(self.base_url, "/publish", event.to_json(), "application/json")
        if code != 200:
            raise ClientError(f"the server refused the event ({code}): {_reason(body)}")

    def req(self, event_filter: dict) -> list[Event]:
        code, body = post_json(self.base_url, "/req", event_filter, "application/octet-stream")
        if code != 200:
            raise ClientError(f"the server refused the read ({code}): {_reason(body)}")
        try:
            return decode_events_answer(body)
        except (ValueError, KeyError, TypeError, EventError, msgpack.UnpackException) as e:
            raise ClientError(f"the server's answer to /req is not the expected form: {e}") from None

    def timeline(self, limit: int) -> list[Event]:
        return self.req({"kinds": [TIMELINE_KIND], "since": -1, "until": -1, "limit": limit})

    def event(self, event_id: bytes) -> Event | None:
        found = [e for e in self.req({"kinds": [1], "ids": [event_id.hex()]}) if e.id == event_id]
        return found[0] if found else None

    def profile(self, pubkey: bytes) -> Event | None:
        return self._current(PROFILE_KIND, pubkey)

    def follow_list(self, pubkey: bytes) -> Event | None:
        return self._current(FOLLOW_LIST_KIND, pubkey)

    def _current(self, kind: int, pubkey: bytes) -> Event | None:
        found = [e for e in self.req({"kinds": [kind], "authors": [pubkey.hex()]})
                 if e.kind == kind and e.pubkey == pubkey]
        return max(found, key=lambda e: (e.created_at, e.id)) if found else None
