"""What a deployment may change in the relay interface; defaults from :mod:`nostrp2p.api.limits`
(a benchmark raises ``max_connections_per_address`` to open a thousand sockets from 127.0.0.1)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import limits


@dataclass(frozen=True)
class RelaySettings:
    private_reads: bool = False
    """REQs are answered only on a connection authenticated (NIP-42) as the owner."""
    max_connections_per_address: int = limits.MAX_CONNECTIONS_PER_ADDRESS
    max_subscriptions: int = limits.MAX_SUBSCRIPTIONS
    max_message_bytes: int = limits.MAX_MESSAGE_BYTES
    max_req_events: int = limits.MAX_REQ_EVENTS
    max_queries_in_flight: int = limits.MAX_QUERIES_IN_FLIGHT
    max_writes_in_flight: int = limits.MAX_WRITES_IN_FLIGHT
    max_early_live_events: int = limits.MAX_EARLY_LIVE_EVENTS
    max_outgoing_bytes: int = limits.MAX_OUTGOING_BYTES
    ping_interval_seconds: float = limits.PING_INTERVAL_SECONDS
    ping_timeout_seconds: float = limits.PING_TIMEOUT_SECONDS
