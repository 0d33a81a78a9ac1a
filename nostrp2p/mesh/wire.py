"""Outer frames on the UDP socket and the inner message-type table (see docs/PROTOCOL.md).

Every overlay datagram starts with MAGIC (0xA1: top bits 10, so never confused with STUN, whose
first two bits are 00) and a frame type. Frames carried inside an encrypted session are
MessagePack arrays whose first element is one of the message types below.
"""

from __future__ import annotations

import socket
import struct

import msgpack

from nostrp2p.mesh import limits

MAGIC = 0xA1  # protocol version 1

# Outer frame types (second byte).
FRAME_INIT = 0x01
FRAME_RESP = 0x02
FRAME_DATA = 0x03
FRAME_COOKIE = 0x04  # a responder under load asks for an INIT carrying a cookie

DATA_HEADER = struct.Struct("!BBIQ")  # magic, type, receiver session id, counter
DATA_HEADER_SIZE = DATA_HEADER.size  # 14
TAG_SIZE = 16  # Poly1305 / BLAKE2b-128 tags

# Inner message types (first element of the decrypted MessagePack array). 1-9 link,
# 10-19 membership, 20-29 broadcast, 30-39 unicast; 40 and up are left for NAT traversal.
MSG_PING = 1
MSG_CLOSE = 2
MSG_CLAIM = 3
MSG_JOIN = 10
MSG_JOIN_ACCEPT = 11
MSG_FORWARD_JOIN = 12
MSG_NEIGHBOR = 13
MSG_NEIGHBOR_REPLY = 14
MSG_DISCONNECT = 15
MSG_SHUFFLE = 16
MSG_SHUFFLE_REPLY = 17
MSG_GOSSIP = 20
MSG_IHAVE = 21
MSG_GRAFT = 22
MSG_PRUNE = 23
MSG_FIND = 30
MSG_FOUND = 31
MSG_UNICAST = 32
MSG_UNICAST_ACK = 33
MSG_RELAY = 34
MSG_RELAYED = 35
MSG_RELAY_REFUSED = 36
MSG_WHOAMI = 40
MSG_YOU_ARE = 41
MSG_PUNCH_REQUEST = 42
MSG_PUNCH = 43


class MalformedFrame(ValueError):
    """A datagram or decrypted message that does not follow PROTOCOL.md."""


def pack(obj) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data: bytes):
    try:
        # Bounded unpacking: nothing in a 1,200-byte datagram needs more.
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            max_bin_len=1200,
            max_str_len=1200,
            max_array_len=256,
            max_map_len=16,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises several unrelated types for bad input
        raise MalformedFrame(f"bad MessagePack: {type(exc).__name__}") from exc


def want_bytes(value, size: int | None = None) -> bytes:
    if not isinstance(value, bytes) or (size is not None and len(value) != size):
        raise MalformedFrame("expected a byte string" + (f" of {size}" if size else ""))
    return value


def want_int(value, low: int = 0, high: int = 2 ** 64 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MalformedFrame("expected an integer in range")
    return value


def want_list(value, max_len: int) -> list:
    if not isinstance(value, list) or len(value) > max_len:
        raise MalformedFrame("expected a bounded array")
    return value


def want_host(value) -> str:
    """A host as an IP literal (v4 or v6, with a zone or not): peers name each other by address,
    never by a name that would have to be resolved (and that the socket layer would refuse)."""
    if not isinstance(value, str) or not 0 < len(value) <= limits.MAX_HOST_LENGTH:
        raise MalformedFrame("expected a host")
    if value in _hosts_seen:
        return value
    try:  # inet_pton, not the ipaddress module: this runs for every descriptor received
        if ":" in value:
            address, _, zone = value.partition("%")
            socket.inet_pton(socket.AF_INET6, address)
            if "%" in value and not zone:
                raise ValueError("an empty zone")
        else:
            socket.inet_pton(socket.AF_INET, value)
    except (OSError, ValueError, UnicodeError):
        raise MalformedFrame("a host is an IP address literal") from None
    if len(_hosts_seen) >= limits.HOSTS_REMEMBERED:
        _hosts_seen.clear()
    _hosts_seen.add(value)
    return value


_hosts_seen: set = set()  # hosts already found to be IP literals (the same few recur)
