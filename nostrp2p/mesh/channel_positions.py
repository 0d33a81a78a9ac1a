"""Where this server stood in each followed author's channel when it last saved: the last post
held with none missing before, the root's key and its parent in the tree. A small file beside
the overlay key, so that a server back from downtime asks for every post after those
(``Channels.subscribe``'s ``since``; docs/PROTOCOL.md "Gaps and catch-up") rather than the last
few, asks its old parent for its place first (``parent``), and checks the posts against the
root's key it had (``root``) rather than hold them until a lookup finds it. Beside them, under
the key "children", the children of its own channel, each with the children it reported, for a
restarted root to call back (``Channels.restore_children``). A missing or unreadable file, or
entry, only means a shorter catch-up, a join by the route, a lookup, or a restarted root whose
old children come back at their own pace.

    {author: [epoch, seq, root key, *parent descriptor], ...,
     "children": [[child, [grandchild, ...]], ...]}
"""

from __future__ import annotations

import os
from typing import NamedTuple

import msgpack

from nostrp2p.mesh import limits, wire
from nostrp2p.mesh.descriptor import Descriptor


class Kept(NamedTuple):
    since: tuple | None  # (epoch, seq) held with none missing before; None: none yet
    parent: Descriptor | None = None  # the parent we had; None: none known
    root: bytes | None = None  # the root's overlay key as we had it checked; None: not known


def _read(path: str) -> dict:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limits.CHANNEL_POSITIONS_BYTES + 1)
        if len(data) > limits.CHANNEL_POSITIONS_BYTES:
            return {}
        value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except (OSError, ValueError, msgpack.UnpackException):
        return {}
    return value if isinstance(value, dict) else {}


def load(path: str) -> dict:
    """author -> Kept as saved; {} when there is no file or it is not one of ours."""
    out = {}
    for author, entry in list(_read(path).items())[:limits.MAX_CHANNELS]:
        kept = _entry(entry)
        if isinstance(author, bytes) and len(author) == 32 and kept is not None:
            out[author] = kept
    return out


def load_children(path: str) -> list:
    """Our own channel's children as saved: [(descriptor, (descriptor, ...))]; a child or
    grandchild that does not read back is left out alone."""
    saved = _read(path).get("children")
    out = []
    for record in saved[:limits.CHANNEL_CHILDREN_MAX] if isinstance(saved, list) else ():
        if not (isinstance(record, list) and len(record) == 2 and isinstance(record[1], list)):
            continue
        child = _descriptor(record[0])
        if child is not None:
            grandchildren = (_descriptor(value) for value in record[1][:limits.CHANNEL_CHILDREN_MAX])
            out.append((child, tuple(d for d in grandchildren if d is not None)))
    return out


def _descriptor(value) -> Descriptor | None:
    try:
        return Descriptor.decode(value)
    except wire.MalformedFrame:
        return None


def _entry(entry) -> Kept | None:
    """[epoch, seq] (epoch 0: no post held yet), then the root's key (b"": not known), then the
    parent's descriptor fields if known: 2, 3, 6 (files of an earlier version: no root key) or
    7 fields. A parent or root key that does not read back is dropped alone."""
    if not isinstance(entry, list) or len(entry) not in (2, 3, 6, 7) or \
            not all(type(v) is int and 0 <= v < 2 ** 63 for v in entry[:2]):
        return None
    since = tuple(entry[:2]) if entry[0] else None
    root = None
    if len(entry) in (3, 7):
        root = entry[2] if isinstance(entry[2], bytes) and len(entry[2]) == 32 else None
    parent = _descriptor(entry[-4:]) if len(entry) > 3 else None
    if since is None and parent is None and root is None:
        return None
    return Kept(since, parent, root)


def save(path: str, kept: dict, children=()) -> None:
    """Write ``kept`` (author -> Kept) and ``children`` (``Channels.own_children``) whole,
    replacing the file at once."""
    entries = {}
    for author, (since, parent, root) in kept.items():
        entry = list(since) if since is not None else [0, 0]
        entry.append(root or b"")
        if parent is not None:
            entry += parent.unbound().encode()
        entries[author] = entry
    if children:
        entries["children"] = [[child.unbound().encode(), [d.unbound().encode() for d in below]]
                               for child, below in children]
    temporary = path + ".new"
    with open(temporary, "wb") as handle:
        handle.write(msgpack.packb(entries, use_bin_type=True))
    os.replace(temporary, path)
