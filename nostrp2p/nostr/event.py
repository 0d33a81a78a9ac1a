"""The Nostr event value and its NIP-01 identity.

An :class:`Event` holds binary id, pubkey and signature, so that every other layer compares and
stores 32/64-byte strings rather than hex. Its id is the SHA-256 of the NIP-01 canonical
serialisation, which :func:`canonical_json` produces byte for byte.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

Tag = tuple[str, ...]
Tags = tuple[Tag, ...]

# NIP-01: these characters are escaped in strings; "all other characters must be included
# verbatim" - unlike json.dumps, which would escape other control characters as \u00XX and so
# give a different id than every other Nostr implementation.
_NIP01_ESCAPES = str.maketrans({
    "\n": "\\n",
    '"': '\\"',
    "\\": "\\\\",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
})


def _json_string(value: str) -> str:
    return '"' + value.translate(_NIP01_ESCAPES) + '"'


def canonical_json(pubkey: bytes, created_at: int, kind: int, tags: Tags, content: str) -> bytes:
    """The NIP-01 serialisation ``[0,pubkey,created_at,kind,tags,content]`` as UTF-8."""
    tag_json = ",".join("[" + ",".join(_json_string(e) for e in tag) + "]" for tag in tags)
    text = f'[0,"{pubkey.hex()}",{created_at},{kind},[{tag_json}],{_json_string(content)}]'
    # surrogatepass: a lone surrogate (possible in JSON "\ud800") must not crash id computation;
    # the parser refuses such strings before they get here, this is belt and braces.
    return text.encode("utf-8", "surrogatepass")


def compute_id(pubkey: bytes, created_at: int, kind: int, tags: Tags, content: str) -> bytes:
    return hashlib.sha256(canonical_json(pubkey, created_at, kind, tags, content)).digest()


@dataclass(frozen=True, slots=True)
class Event:
    id: bytes
    pubkey: bytes
    created_at: int
    kind: int
    tags: Tags
    content: str
    sig: bytes

    @property
    def id_hex(self) -> str:
        return self.id.hex()

    @property
    def pubkey_hex(self) -> str:
        return self.pubkey.hex()

    def expected_id(self) -> bytes:
        return compute_id(self.pubkey, self.created_at, self.kind, self.tags, self.content)

    def tag_values(self, name: str) -> list[str]:
        """Second elements of every tag called ``name`` (``"p"`` gives the named pubkeys)."""
        return [tag[1] for tag in self.tags if len(tag) >= 2 and tag[0] == name]

    def has_tag(self, name: str) -> bool:
        return any(tag and tag[0] == name for tag in self.tags)

    def to_json(self) -> dict:
        """The NIP-01 JSON object (hex strings), as clients and relays exchange it."""
        return {
            "id": self.id.hex(),
            "pubkey": self.pubkey.hex(),
            "created_at": self.created_at,
            "kind": self.kind,
            "tags": [list(tag) for tag in self.tags],
            "content": self.content,
            "sig": self.sig.hex(),
        }
