"""The messages of follower channels (docs/PROTOCOL.md, "Channels"): each travels as the payload
of a reliable unicast of kind KIND_CHANNEL between two tree neighbours, so it is fragmented,
acknowledged and relayed like any unicast. A payload is a MessagePack array whose first element
is one of the types below; ``decode`` checks every field or raises MalformedFrame.

A channel is named by its author's owner key (32 bytes). Sequences are the root's: ``epoch`` is
the root's start time in milliseconds (so a restarted root starts a new numbering that followers
tell from the old), ``seq`` counts posts from 1 within an epoch.
"""

from __future__ import annotations

from typing import NamedTuple

import msgpack

from nostrp2p.mesh import limits, wire
from nostrp2p.mesh.descriptor import Descriptor

JOIN, ACCEPT, REDIRECT, REFUSE, LEAVE, POST, HEARTBEAT, STATE, PULL, NOT_HELD = range(1, 11)

EPOCH_MAX = 2 ** 63 - 1
SEQ_MAX = 2 ** 63 - 1


class Join(NamedTuple):
    """Take me as a child in this channel (``redirects``: times this join was pushed down)."""
    author: bytes
    redirects: int


class Accept(NamedTuple):
    """You are my child; where the channel stands (epoch 0: not known yet)."""
    author: bytes
    epoch: int
    last_seq: int


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
    pulled (or passed on after a pull), not as it was published."""
    author: bytes
    epoch: int
    seq: int
    repair: bool
    payload: bytes


class Heartbeat(NamedTuple):
    """To a parent: I am still your child in these channels; per channel (author, epoch, last
    seq) as I have it. Its acknowledgement is the parent's sign of life."""
    entries: tuple


class State(NamedTuple):
    """The answer to HEARTBEAT, only for the channels where the child is behind or no longer a
    child: per channel (author, still my child?, epoch, last seq)."""
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


_TYPES = {Join: JOIN, Accept: ACCEPT, Redirect: REDIRECT, Refuse: REFUSE, Leave: LEAVE, Post: POST,
          Heartbeat: HEARTBEAT, State: STATE, Pull: PULL, NotHeld: NOT_HELD}


def encode(message) -> bytes:
    values = list(message)
    if isinstance(message, Redirect):
        values[1] = message.to.encode()
    elif isinstance(message, (Heartbeat, State)):
        values[0] = [list(entry) for entry in message.entries]
    elif isinstance(message, (Pull, NotHeld)):
        values[2] = list(message.seqs)
    return wire.pack([_TYPES[type(message)], *values])


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


def _heartbeat_entry(value) -> tuple:
    fields = wire.want_list(value, 3)
    if len(fields) != 3:
        raise wire.MalformedFrame("a HEARTBEAT entry has 3 fields")
    return (_key(fields[0]), _epoch(fields[1]), _seq(fields[2]))


def _state_entry(value) -> tuple:
    fields = wire.want_list(value, 4)
    if len(fields) != 4:
        raise wire.MalformedFrame("a STATE entry has 4 fields")
    return (_key(fields[0]), _bool(fields[1]), _epoch(fields[2]), _seq(fields[3]))


_DECODERS = {
    JOIN: (Join, (_key, lambda v: wire.want_int(v, 0, limits.CHANNEL_MAX_REDIRECTS))),
    ACCEPT: (Accept, (_key, _epoch, _seq)),
    REDIRECT: (Redirect, (_key, Descriptor.decode,
                          lambda v: wire.want_int(v, 0, limits.CHANNEL_MAX_REDIRECTS))),
    REFUSE: (Refuse, (_key,)),
    LEAVE: (Leave, (_key,)),
    POST: (Post, (_key, _epoch, lambda v: wire.want_int(v, 1, SEQ_MAX), _bool,
                  lambda v: _payload(v))),
    HEARTBEAT: (Heartbeat, (lambda v: tuple(_heartbeat_entry(e) for e in
                                            wire.want_list(v, limits.CHANNEL_HEARTBEAT_AUTHORS)),)),
    STATE: (State, (lambda v: tuple(_state_entry(e) for e in
                                    wire.want_list(v, limits.CHANNEL_HEARTBEAT_AUTHORS)),)),
    PULL: (Pull, (_key, _epoch, _seqs)),
    NOT_HELD: (NotHeld, (_key, _epoch, _seqs)),
}


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
    if len(value) - 1 != len(checks):
        raise wire.MalformedFrame(f"{cls.__name__} has {len(checks)} fields")
    return cls(*(check(v) for check, v in zip(checks, value[1:])))
