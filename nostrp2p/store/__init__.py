"""The event store: Redis (embedded by default) behind IEventStore, with an in-memory window
of recent events. docs/STORE.md describes the key schema and what survives a crash."""

from .embedded import StoreStartError
from .interface import IEventStore
from .redis_store import RedisEventStore, StoreError
from .resend import ResendItem
from .service import StoreConfigError, StoreService, parse_redis_url

__all__ = [
    "IEventStore", "RedisEventStore", "ResendItem", "StoreConfigError", "StoreError",
    "StoreService", "StoreStartError", "parse_redis_url",
]
