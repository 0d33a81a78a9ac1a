"""The Nostr event value and its NIP-01 identity.

An :class:`Event` holds binary id, pubkey and signature, so that every other layer compares and
stores 32/64-byte strings rather than hex. Its id is the SHA-256 of the NIP-01 canonical
serialisation, which :func:`canonical_json` produces byte for byte.

For the control characters NIP-01 does not name (U+0000-U+001F but the seven it escapes), it
says "verbatim", while JSON.stringify, serde_json and Dart's jsonEncode (the mobile client's)
write ``\\u00XX`` (nostr-protocol/nips issue 1403). An event signed either way is accepted
(:meth:`Event.id_matches`) and kept exactly as signed, id included.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

Tag = tuple[str, ...]
Tags = tuple[Tag, ...]

# NIP-01: these characters are escaped in strings; "all other characters must be included
# verbatim". The ids this server computes (for events it signs, in tools and tests) use that
# form; the \u00XX form of the other control characters is only accepted (see above).
_NIP01_ESCAPES = str.maketrans({
    "\n": "\\n",
    '"': '\\"',
    "\\": "\\\\",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
})


_OTHER_CONTROLS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\n\r\t\b\f")
_OTHER_CONTROL = re.compile(f"[{re.escape(_OTHER_CONTROLS)}]")
_JSON_LIBRARY_ESCAPES = str.maketrans(
    {**{c: f"\\u{ord(c):04x}" for c in _OTHER_CONTROLS},
     **{chr(k): v for k, v in _NIP01_ESCAPES.items()}})


def _json_string(value: str, escapes: dict = _NIP01_ESCAPES) -> str:
    return '"' + value.translate(escapes) + '"'


def canonical_json(pubkey: bytes, created_at: int, kind: int, tags: Tags, content: str,
                   escape_all_controls: bool = False) -> bytes:
    """The NIP-01 serialisation ``[0,pubkey,created_at,kind,tags,content]`` as UTF-8; with
    ``escape_all_controls``, in the ``\\u00XX`` form JSON libraries write."""
    escapes = _JSON_LIBRARY_ESCAPES if escape_all_controls else _NIP01_ESCAPES
    tag_json = ",".join("[" + ",".join(_json_string(e, escapes) for e in tag) + "]"
                        for tag in tags)
    text = (f'[0,"{pubkey.hex()}",{created_at},{kind},[{tag_json}],'
            f'{_json_string(content, escapes)}]')
    # surrogatepass: a lone surrogate (possible in JSON "\ud800") must not crash id computation;
    # the parser refuses such strings before they get here, this is belt and braces.
    return text.encode("utf-8", "surrogatepass")


def compute_id(pubkey: bytes, created_at: int, kind: int, tags: Tags, content: str,
               escape_all_controls: bool = False) -> bytes:
    return hashlib.sha256(canonical_json(pubkey, created_at, kind, tags, content,
                                         escape_all_controls)).digest()


def has_other_controls(tags: Tags, content: str) -> bool:
    """Whether the two serialisations differ: a control character NIP-01 leaves verbatim."""
    return bool(_OTHER_CONTROL.search(content)) or any(
        _OTHER_CONTROL.search(element) for tag in tags for element in tag)


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

    def id_matches(self) -> bool:
        """Whether the id is that of the NIP-01 serialisation, or of its ``\\u00XX`` form."""
        if self.id == self.expected_id():
            return True
        return has_other_controls(self.tags, self.content) and self.id == compute_id(
            self.pubkey, self.created_at, self.kind, self.tags, self.content,
            escape_all_controls=True)

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
