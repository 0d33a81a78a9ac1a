"""Nostr events, keys and filters: NIP-01 ids, BIP-340 signatures, NIP-19 key strings.

Knows nothing of the overlay, Redis or HTTP.
"""

from .errors import EventError
from .event import Event, canonical_json, compute_id
from .filters import TIMELINE_KIND, Filter, filter_from_json
from .keys import KeyFormatError, KeyPair, decode_key, parse_public_key
from .parse import event_from_json, event_from_json_bytes, strict_json_loads
from .signing import sign_event, verify_event

__all__ = [
    "Event", "EventError", "Filter", "KeyFormatError", "KeyPair", "TIMELINE_KIND",
    "canonical_json", "compute_id", "decode_key", "event_from_json", "event_from_json_bytes",
    "filter_from_json", "parse_public_key", "sign_event", "strict_json_loads", "verify_event",
]
