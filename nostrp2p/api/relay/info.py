"""NIP-11: the relay information document, answered to ``GET /`` with
``Accept: application/nostr+json``. ``limitation`` holds the real bounds (the standard keys,
then this server's own ones)."""

from __future__ import annotations

import json
from importlib import metadata

from ...node.delivery import ACCEPTED_KINDS
from ...nostr import limits as nostr_limits
from .. import limits
from .settings import RelaySettings

NIP11_MEDIA_TYPE = b"application/nostr+json"
SOFTWARE = "https://github.com/ryogrid/nostrp2p"
SUPPORTED_NIPS = [1, 11, 42]


def _version() -> str:
    try:
        return metadata.version("nostrp2p")
    except metadata.PackageNotFoundError:
        return "unknown"


def info_document(owner: bytes, writable: bool, settings: RelaySettings) -> dict:
    return {
        "name": f"NostrP2P home server of {owner.hex()[:12]}",
        "description": ("A NostrP2P server: its owner's personal relay, with the NostrP2P "
                        "overlay behind it. It accepts events of its owner only, of kinds "
                        f"{', '.join(map(str, sorted(ACCEPTED_KINDS)))}."),
        "pubkey": owner.hex(),
        "supported_nips": SUPPORTED_NIPS,
        "software": SOFTWARE,
        "version": _version(),
        "limitation": {
            "max_message_length": settings.max_message_bytes,
            "max_subscriptions": settings.max_subscriptions,
            "max_filters": limits.MAX_FILTERS,
            "max_limit": settings.max_req_events,
            "max_subid_length": limits.MAX_SUBSCRIPTION_ID_CHARS,
            "max_event_tags": nostr_limits.MAX_TAGS,
            "max_content_length": nostr_limits.MAX_CONTENT_BYTES,
            "min_pow_difficulty": 0,
            "auth_required": settings.private_reads,
            "payment_required": False,
            "restricted_writes": True,
            "max_connections_per_address": settings.max_connections_per_address,
            "max_outgoing_bytes": settings.max_outgoing_bytes,
            "max_events_in_flight": settings.max_writes_in_flight,
            "max_reqs_in_flight": settings.max_queries_in_flight,
            "ping_interval_seconds": settings.ping_interval_seconds,
            "writable": writable,
        },
    }


def info_body(owner: bytes, writable: bool, settings: RelaySettings) -> bytes:
    return json.dumps(info_document(owner, writable, settings)).encode("utf-8")


def wants_info(request) -> bool:
    for header in request.requestHeaders.getRawHeaders(b"accept") or []:
        for item in header.split(b","):
            if item.split(b";")[0].strip().lower() == NIP11_MEDIA_TYPE:
                return True
    return False
