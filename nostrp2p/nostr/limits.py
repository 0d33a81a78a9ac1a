"""Size limits for Nostr events, in one place.

They bound what one event may cost this server (memory, disk, bandwidth); a client's event
beyond any of them is refused with an error that names the limit.
"""

MAX_CONTENT_BYTES = 64 * 1024
"""UTF-8 size of `content`. A kind 6 repost embeds a whole event's JSON, so leave room for one."""

MAX_TAGS = 2000
"""Tags on one event: a kind 3 follow list has one `p` tag per followee."""

MAX_TAG_ELEMENTS = 16
"""Elements in one tag (NIP-10 uses at most four or five)."""

MAX_TAG_ELEMENT_BYTES = 1024
"""UTF-8 size of one tag element."""

MAX_EVENT_JSON_BYTES = 256 * 1024
"""Size of one event as NIP-01 JSON; the REST layer refuses a larger body before parsing it."""

MAX_KIND = 65535
"""NIP-01 kinds are integers between 0 and 65535."""

MAX_CREATED_AT = 2**40
"""created_at beyond this (year ~36812) is nonsense that could overflow other implementations."""

MAX_BINDING_BYTES = 1024
"""An owner binding in its packed wire form (docs/BINDING.md): one made by ``nostrp2p bind``
is 259 bytes; the rest is room for a client's extra tags (a NIP-31 ``alt`` text). A binding
travels in handshakes and descriptors, so a larger one is refused rather than carried."""

MAX_BINDING_SEQUENCE = 2**63 - 1
"""A binding's ``seq`` tag: ``nostrp2p bind`` uses the unix time, so this is never reached."""

BINDINGS_CACHED = 4096
"""Verified bindings kept by a :class:`~nostrp2p.nostr.binding_cache.BindingCache`, keyed by
(overlay key, owner, binding id): one per server a busy overlay node talks to. About 1.4 KB
each (measured with tracemalloc), so about 6 MB when full."""

PARSED_KEYS_CACHED = 4096
"""Authors' public keys kept parsed for signature checks (``signing.schnorr_verify``), the
oldest forgotten first: about 140 bytes each (tracemalloc), so about 0.6 MB when full. A key
parsed again costs about 8 us, a sixth of a verification."""
