"""Where this server stood in each followed author's channel when it last saved: the last post
held with none missing before, and its parent in the tree. A small file beside the overlay key,
so that a server back from downtime asks for every post after those (``Channels.subscribe``'s
``since``; docs/PROTOCOL.md "Gaps and catch-up") rather than the last few, and asks its old
parent for its place first (``parent``). A missing or unreadable file, or entry, only means a
shorter catch-up or a join by the route."""

from __future__ import annotations

import os
from typing import NamedTuple

import msgpack

from nostrp2p.mesh import limits, wire
from nostrp2p.mesh.descriptor import Descriptor


class Kept(NamedTuple):
    since: tuple | None  # (epoch, seq) held with none missing before; None: none yet
    parent: Descriptor | None = None  # the parent we had; None: none known


def load(path: str) -> dict:
    """author -> Kept as saved; {} when there is no file or it is not one of ours."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limits.CHANNEL_POSITIONS_BYTES + 1)
        if len(data) > limits.CHANNEL_POSITIONS_BYTES:
            return {}
        value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except (OSError, ValueError, msgpack.UnpackException):
        return {}
    if not isinstance(value, dict):
        return {}
    out = {}
    for author, entry in list(value.items())[:limits.MAX_CHANNELS]:
        kept = _entry(entry)
        if isinstance(author, bytes) and len(author) == 32 and kept is not None:
            out[author] = kept
    return out


def _entry(entry) -> Kept | None:
    """[epoch, seq] (epoch 0: no post held yet), then the parent's descriptor fields if known
    (files of earlier versions have none). A parent that does not read back is dropped alone."""
    if not isinstance(entry, list) or len(entry) < 2 or \
            not all(type(v) is int and 0 <= v < 2 ** 63 for v in entry[:2]):
        return None
    since = tuple(entry[:2]) if entry[0] else None
    parent = None
    if len(entry) > 2:
        try:
            parent = Descriptor.decode(entry[2:])
        except wire.MalformedFrame:
            pass
    if since is None and parent is None:
        return None
    return Kept(since, parent)


def save(path: str, kept: dict) -> None:
    """Write ``kept`` (author -> Kept) whole, replacing the file at once."""
    entries = {}
    for author, (since, parent) in kept.items():
        entry = list(since) if since is not None else [0, 0]
        if parent is not None:
            entry += parent.unbound().encode()
        entries[author] = entry
    temporary = path + ".new"
    with open(temporary, "wb") as handle:
        handle.write(msgpack.packb(entries, use_bin_type=True))
    os.replace(temporary, path)
