"""Where each followed author's channel stood when this server last held its posts: a small
file beside the overlay key, so that a server back from downtime asks for every post after
those (``Channels.subscribe``'s ``since``; docs/PROTOCOL.md "Gaps and catch-up") rather than
the last few. A missing or unreadable file only means a shorter catch-up."""

from __future__ import annotations

import os

import msgpack

from nostrp2p.mesh import limits


def load(path: str) -> dict:
    """author -> (epoch, seq) as saved; {} when there is no file or it is not one of ours."""
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
    for author, position in list(value.items())[:limits.MAX_CHANNELS]:
        if isinstance(author, bytes) and len(author) == 32 and isinstance(position, list) and \
                len(position) == 2 and all(type(v) is int and 0 <= v < 2 ** 63 for v in position):
            out[author] = tuple(position)
    return out


def save(path: str, positions: dict) -> None:
    """Write ``positions`` (author -> (epoch, seq)) whole, replacing the file at once."""
    temporary = path + ".new"
    with open(temporary, "wb") as handle:
        handle.write(msgpack.packb({a: list(p) for a, p in positions.items()}, use_bin_type=True))
    os.replace(temporary, path)
