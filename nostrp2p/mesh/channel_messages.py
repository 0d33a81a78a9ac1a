"""The messages of follower channels (docs/PROTOCOL.md, "Channels"): each travels as the payload
of a reliable unicast of kind KIND_CHANNEL between two tree neighbours, so it is fragmented,
acknowledged and relayed like any unicast. A payload is a MessagePack array whose first element
is one of the types below; ``decode`` checks every field or raises MalformedFrame.

A channel is named by its author's owner key (32 bytes). Sequences are the root's: ``epoch`` is
the root's start time in milliseconds (so a restarted root starts a new numbering that followers
tell from the old), ``seq`` counts posts from 1 within an epoch.
"""

from __future__ import annotations

import functools
import hashlib
from typing import NamedTuple

import msgpack

from nostrp2p.mesh import limits, wire, xeddsa
from nostrp2p.mesh.descriptor import Descriptor

JOIN, ACCEPT, REDIRECT, REFUSE, LEAVE, POST, HEARTBEAT, STATE, PULL, NOT_HELD, CHECK = range(1, 12)

EPOCH_MAX = 2 ** 63 - 1
PATH_TAG_MAX = 2 ** 64 - 1
SEQ_MAX = 2 ** 63 - 1


class Join(NamedTuple):
    """Take me as a child in this channel (``redirects``: times this join was pushed down;
    ``height``: the levels of my subtree below me, 0 for none, left out when 0)."""
    author: bytes
    redirects: int
    height: int = 0


class Accept(NamedTuple):
    """You are my child; where the channel stands (epoch 0: not known yet), and my path to the
    root (my parent first; empty from the root), which must not hold the joiner (a cycle)."""
    author: bytes
    epoch: int
    last_seq: int
    path: tuple = ()


class Redirect(NamedTuple):
    """My children are full: join under that one of them instead."""
    author: bytes
    to: Descriptor
    redirects: int


class Refuse(NamedTuple):
    """I will not take you as a child in this channel (bounds, or you are above me)."""
    author: bytes


class Leave(NamedTuple):
    """I am no longer your child in this channel."""
    author: bytes


class Post(NamedTuple):
    """A post of the channel's author, numbered by its root. ``repair``: sent because it was
    pulled (or passed on after a pull), not as it was published. ``proof``: the root's
    signature of (author, epoch, seq, payload) with its overlay key (``numbering``), so that
    no forwarder can renumber posts to hide one it withholds."""
    author: bytes
    epoch: int
    seq: int
    repair: bool
    payload: bytes
    proof: bytes = b""


class Shape(NamedTuple):
    """What a member tells its parent of the subtree below it, so that a full server far above
    can move a member from a deep part of its tree to room in a shallow one (docs/PROTOCOL.md
    "Levelling"): ``height`` levels below it (0: no children), ``room`` levels down to the
    nearest member with room for a child (0: it has room itself), and ``deep`` a member at the
    bottom (None: the reporter itself, when it has no children)."""
    height: int
    room: int
    deep: Descriptor | None


class Heartbeat(NamedTuple):
    """To a parent: I am still your child in these channels; per channel (author, epoch, last
    seq, children, path tag, shape) as I have it, ``children`` my own children there
    (descriptors) when they changed since the last heartbeat the parent acknowledged, else None,
    ``path tag`` a digest of my path to the root as I know it (0: none), and ``shape`` my
    subtree's (Shape) when it changed since the parent acknowledged it, else None (and left out
    on the wire). Sent only when there is news or the parent has been quiet (channels.py); its
    acknowledgement is the parent's sign of life; the children are whom the parent warns (CHECK)
    when we fail."""
    entries: tuple


class State(NamedTuple):
    """The answer to HEARTBEAT, only for the channels where the child is behind, no longer a
    child, or has a stale path: per channel (author, still my child?, epoch, last seq, path),
    ``path`` the child's path to the root (its parent first) when its tag was stale, else None.
    Also sent unasked, with the child's new path, when the parent's own path changed."""
    entries: tuple


class Pull(NamedTuple):
    """Send me these posts of the channel again, if you hold them."""
    author: bytes
    epoch: int
    seqs: tuple


class NotHeld(NamedTuple):
    """The answer to PULL for the posts the asked server does not hold."""
    author: bytes
    epoch: int
    seqs: tuple


class Check(NamedTuple):
    """From a grandparent: your parent ``parent`` in this channel did not acknowledge what I
    sent it; see whether it is still there (and if not, join me). The channel stands at
    (epoch, last_seq) here: what you miss of it you may pull from me."""
    author: bytes
    parent: bytes
    epoch: int = 0
    last_seq: int = 0


_TYPES = {Join: JOIN, Accept: ACCEPT, Redirect: REDIRECT, Refuse: REFUSE, Leave: LEAVE, Post: POST,
          Heartbeat: HEARTBEAT, State: STATE, Pull: PULL, NotHeld: NOT_HELD, Check: CHECK}


def encode(message) -> bytes:
    values = list(message)
    if isinstance(message, Join) and not message.height:
        values.pop()  # a joiner with no children sends what servers without heights read
    elif isinstance(message, Redirect):
        values[1] = message.to.encode()
    elif isinstance(message, Heartbeat):
        values[0] = [_encode_heartbeat_entry(entry) for entry in message.entries]
    elif isinstance(message, State):
        values[0] = [[*entry[:4], None if entry[4] is None else list(entry[4])]
                     for entry in message.entries]
    elif isinstance(message, Accept):
        values[3] = list(message.path)
    elif isinstance(message, (Pull, NotHeld)):
        values[2] = list(message.seqs)
    return wire.pack([_TYPES[type(message)], *values])


def _encode_heartbeat_entry(entry) -> list:
    author, epoch, last_seq, children, tag, shape = entry
    out = [author, epoch, last_seq, None if children is None else [d.encode() for d in children],
           tag]
    if shape is not None:
        out.append([shape.height, shape.room, None if shape.deep is None else shape.deep.encode()])
    return out


def _key(value) -> bytes:
    return wire.want_bytes(value, 32)


def _epoch(value) -> int:
    return wire.want_int(value, 0, EPOCH_MAX)


def _seq(value) -> int:
    return wire.want_int(value, 0, SEQ_MAX)


def _bool(value) -> bool:
    if not isinstance(value, bool):
        raise wire.MalformedFrame("expected a boolean")
    return value


def _seqs(value) -> tuple:
    return tuple(_seq(s) for s in wire.want_list(value, limits.CHANNEL_PULL_MAX))


def _path(value) -> tuple:
    return tuple(_key(k) for k in wire.want_list(value, limits.CHANNEL_PATH_MAX))


def _heartbeat_entry(value) -> tuple:
    fields = wire.want_list(value, 6)
    if len(fields) not in (5, 6):
        raise wire.MalformedFrame("a HEARTBEAT entry has 5 or 6 fields")
    children = None
    if fields[3] is not None:
        children = tuple(Descriptor.decode(d) for d in
                         wire.want_list(fields[3], limits.CHANNEL_CHILDREN_MAX))
    return (_key(fields[0]), _epoch(fields[1]), _seq(fields[2]), children,
            wire.want_int(fields[4], 0, PATH_TAG_MAX),
            _shape(fields[5]) if len(fields) == 6 else None)


def _shape(value) -> Shape:
    fields = wire.want_list(value, 3)
    if len(fields) != 3:
        raise wire.MalformedFrame("a subtree's shape has 3 fields")
    return Shape(wire.want_int(fields[0], 0, limits.CHANNEL_PATH_MAX),
                 wire.want_int(fields[1], 0, limits.CHANNEL_PATH_MAX),
                 None if fields[2] is None else Descriptor.decode(fields[2]))


def _state_entry(value) -> tuple:
    fields = wire.want_list(value, 5)
    if len(fields) != 5:
        raise wire.MalformedFrame("a STATE entry has 5 fields")
    return (_key(fields[0]), _bool(fields[1]), _epoch(fields[2]), _seq(fields[3]),
            None if fields[4] is None else _path(fields[4]))


_DECODERS = {
    JOIN: (Join, (_key, lambda v: wire.want_int(v, 0, limits.CHANNEL_MAX_REDIRECTS),
                  lambda v: wire.want_int(v, 0, limits.CHANNEL_PATH_MAX))),
    ACCEPT: (Accept, (_key, _epoch, _seq, _path)),
    REDIRECT: (Redirect, (_key, Descriptor.decode,
                          lambda v: wire.want_int(v, 0, limits.CHANNEL_MAX_REDIRECTS))),
    REFUSE: (Refuse, (_key,)),
    LEAVE: (Leave, (_key,)),
    POST: (Post, (_key, _epoch, lambda v: wire.want_int(v, 1, SEQ_MAX), _bool,
                  lambda v: _payload(v), lambda v: wire.want_bytes(v, xeddsa.SIGNATURE_SIZE))),
    HEARTBEAT: (Heartbeat, (lambda v: tuple(_heartbeat_entry(e) for e in
                                            wire.want_list(v, limits.CHANNEL_HEARTBEAT_AUTHORS)),)),
    STATE: (State, (lambda v: tuple(_state_entry(e) for e in
                                    wire.want_list(v, limits.CHANNEL_HEARTBEAT_AUTHORS)),)),
    PULL: (Pull, (_key, _epoch, _seqs)),
    NOT_HELD: (NotHeld, (_key, _epoch, _seqs)),
    CHECK: (Check, (_key, _key, _epoch, _seq)),
}


# Messages whose last field may be left out (it has a default): JOIN's height came later.
_LAST_FIELD_OPTIONAL = {Join}


def _payload(value) -> bytes:
    if not isinstance(value, bytes) or len(value) > limits.MAX_CHANNEL_PAYLOAD:
        raise wire.MalformedFrame("a post payload is a byte string within MAX_CHANNEL_PAYLOAD")
    return value


def decode(payload: bytes):
    """The channel message in a KIND_CHANNEL unicast; MalformedFrame when it is not one."""
    try:
        value = msgpack.unpackb(payload, raw=False, strict_map_key=True,
                                     max_bin_len=limits.MAX_CHANNEL_PAYLOAD, max_str_len=256,
                                     max_array_len=4 * limits.CHANNEL_HEARTBEAT_AUTHORS,
                                     max_map_len=0, max_ext_len=0)
    except Exception as exc:  # msgpack raises several unrelated types for bad input
        raise wire.MalformedFrame(f"bad MessagePack: {type(exc).__name__}") from exc
    if not isinstance(value, list) or not value or type(value[0]) is not int:
        raise wire.MalformedFrame("a channel message is an array starting with its type")
    entry = _DECODERS.get(value[0])
    if entry is None:
        raise wire.MalformedFrame(f"unknown channel message type {value[0]}")
    cls, checks = entry
    if len(value) - 1 != len(checks) and \
            not (len(value) - 1 == len(checks) - 1 and cls in _LAST_FIELD_OPTIONAL):
        raise wire.MalformedFrame(f"{cls.__name__} has {len(checks)} fields")
    return cls(*(check(v) for check, v in zip(checks, value[1:])))


@functools.lru_cache(maxsize=4096)
def path_tag(path: tuple) -> int:
    """The digest of a path to the root a child puts in its heartbeat (0 for none). Cached: each
    look over the parents asks it of every channel, and paths seldom change."""
    if not path:
        return 0
    return int.from_bytes(hashlib.blake2b(b"".join(path), digest_size=8).digest(), "big") or 1


def numbering(author: bytes, epoch: int, seq: int, payload: bytes) -> bytes:
    """What a root signs for each post (Post.proof)."""
    return b"nostrp2p channel post\0" + author + epoch.to_bytes(8, "big") + seq.to_bytes(8, "big") \
        + hashlib.blake2b(payload, digest_size=32).digest()
