"""Every inner message of the overlay, typed: the one place where a message's shape is defined.

The plaintext of a DATA frame is a MessagePack array whose first element is the message type
(docs/PROTOCOL.md, "Inner messages"). ``decode`` turns it into one of the frozen classes below,
checking every field (types, lengths, counts, ranges, enum values, hosts as IP literals) or
raising MalformedFrame (UnknownMessageType for a type nobody defined); handlers only ever see
these classes. ``message.encode()`` is the array that goes on the wire.

Each class lists its fields in wire order with the check that decodes one; a field whose check
is ``optional(...)`` may be left off the end of the array (and is, when None).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields

from nostrp2p.mesh import limits, wire
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.wire import MalformedFrame  # noqa: F401 (handlers raise it from here)

# Largest fragment index of a unicast message (and so largest fragment count).
MOST_FRAGMENTS = limits.MAX_UNICAST_PAYLOAD // limits.FRAGMENT_SIZE + 1

KIND_MESSAGE = 0
KIND_REQUEST = 1
KIND_REPLY = 2
KIND_REFUSED = 3  # the destination could not answer a request; payload is its reason


class UnknownMessageType(MalformedFrame):
    """An inner message whose type number no class below has."""


# --- field checks: value from the wire -> value for the class, or MalformedFrame ------------------
def _bytes(size=None, most=None):
    def check(value):
        value = wire.want_bytes(value, size)
        if most is not None and len(value) > most:
            raise MalformedFrame(f"a byte string of at most {most}")
        return value
    return check


def _int(low, high):
    return lambda value: wire.want_int(value, low, high)


def _bool(value):
    if not isinstance(value, bool):
        raise MalformedFrame("expected a boolean")
    return value


def _list(item, most, least=0):
    def check(value):
        items = wire.want_list(value, most)
        if len(items) < least:
            raise MalformedFrame(f"an array of at least {least}")
        return tuple(item(v) for v in items)
    return check


def _nil_or(check):
    return lambda value: None if value is None else check(value)


def _descriptor(value):
    return Descriptor.decode(value)


def _relayable(value):
    inner = decode_fields(wire.want_list(value, 8))
    if not isinstance(inner, RELAYABLE):
        raise MalformedFrame("only UNICAST and UNICAST_ACK are relayed")
    return inner


KEY = _bytes(32)
MID = _bytes(16)
PORT = _int(0, 65535)
LOOKUP_ID = _int(0, 0xFFFFFFFF)
TTL = _int(0, limits.ACTIVE_RANDOM_WALK)
SAMPLE = _list(_descriptor, limits.MAX_SAMPLE_DESCRIPTORS)
RELAYS = _list(_descriptor, limits.RELAY_HINTS_PER_DESTINATION)


def _field(check, optional=False):
    """A message field decoded by ``check``; an ``optional`` one may be missing at the end."""
    return field(default=None if optional else MISSING, metadata={"check": check, "optional": optional})


# --- the table ---------------------------------------------------------------------------------
_BY_TYPE: dict[int, type] = {}


def _message(type_number: int):
    """Register a frozen message class under its type number and precompute its decoder."""
    def register(cls):
        cls = dataclass(frozen=True, slots=True)(cls)
        cls.TYPE = type_number
        specs = [(f.name, f.metadata["check"], f.metadata["optional"]) for f in fields(cls)]
        cls._checks = tuple(check for _, check, _ in specs)
        cls._names = tuple(name for name, _, _ in specs)
        cls._least = sum(1 for _, _, optional in specs if not optional)
        if type_number in _BY_TYPE:
            raise RuntimeError(f"message type {type_number} defined twice")
        _BY_TYPE[type_number] = cls
        return cls
    return register


class Message:
    """What every message class has: TYPE, encode() and validate()."""

    __slots__ = ()
    TYPE = 0
    _checks: tuple = ()
    _names: tuple = ()
    _least = 0

    def encode(self) -> list:
        values = [getattr(self, name) for name in self._names]
        while len(values) > self._least and values[-1] is None:
            values.pop()
        return [self.TYPE, *(_wire_value(v) for v in values)]

    def validate(self) -> None:
        """Checks between fields, after each field was decoded on its own."""


def _wire_value(value):
    if isinstance(value, Message):
        return value.encode()
    if isinstance(value, Descriptor):
        return value.encode()
    if isinstance(value, tuple):
        return [_wire_value(v) for v in value]
    return value


def decode(plaintext: bytes) -> Message:
    """The typed message in a decrypted DATA frame; MalformedFrame when it is not one."""
    return decode_fields(wire.unpack(plaintext))


def decode_fields(value) -> Message:
    if not isinstance(value, list) or not value or not isinstance(value[0], int) \
            or isinstance(value[0], bool):
        raise MalformedFrame("an inner message is a non-empty array starting with its type")
    cls = _BY_TYPE.get(value[0])
    if cls is None:
        raise UnknownMessageType(f"unknown message type {value[0]}")
    values = value[1:]
    if not cls._least <= len(values) <= len(cls._checks):
        raise MalformedFrame(f"{cls.__name__} has {cls._least}..{len(cls._checks)} fields")
    message = cls(*[check(v) for check, v in zip(cls._checks, values)])
    message.validate()
    return message


def types() -> dict[int, type]:
    """Type number -> message class, for every inner message (docs/PROTOCOL.md's table)."""
    return dict(_BY_TYPE)


# --- link (1-9) --------------------------------------------------------------------------------
@_message(wire.MSG_PING)
class Ping(Message):
    pass


@_message(wire.MSG_CLOSE)
class Close(Message):
    pass


# --- membership (10-19) -------------------------------------------------------------------------
@_message(wire.MSG_JOIN)
class Join(Message):
    pass


@_message(wire.MSG_JOIN_ACCEPT)
class JoinAccept(Message):
    pass


@_message(wire.MSG_FORWARD_JOIN)
class ForwardJoin(Message):
    joiner: Descriptor = _field(_descriptor)
    ttl: int = _field(TTL)


@_message(wire.MSG_NEIGHBOR)
class Neighbor(Message):
    high_priority: bool = _field(_bool)


@_message(wire.MSG_NEIGHBOR_REPLY)
class NeighborReply(Message):
    accepted: bool = _field(_bool)


@_message(wire.MSG_DISCONNECT)
class Disconnect(Message):
    pass


@_message(wire.MSG_SHUFFLE)
class Shuffle(Message):
    origin: Descriptor | None = _field(_nil_or(_descriptor))  # None: the sender itself
    ttl: int = _field(TTL)
    sample: tuple = _field(SAMPLE)


@_message(wire.MSG_SHUFFLE_REPLY)
class ShuffleReply(Message):
    sample: tuple = _field(SAMPLE)


# --- broadcast (20-29) --------------------------------------------------------------------------
@_message(wire.MSG_GOSSIP)
class Gossip(Message):
    mid: bytes = _field(MID)
    origin_owner: bytes = _field(KEY)
    hops: int = _field(_int(0, limits.MAX_HOPS))
    payload: bytes = _field(_bytes())


@_message(wire.MSG_IHAVE)
class IHave(Message):
    mids: tuple = _field(_list(MID, limits.MAX_IHAVE_IDS))


@_message(wire.MSG_GRAFT)
class Graft(Message):
    mid: bytes = _field(MID)


@_message(wire.MSG_PRUNE)
class Prune(Message):
    pass


# --- unicast and routing (30-39) -----------------------------------------------------------------
@_message(wire.MSG_FIND)
class Find(Message):
    """"Which servers do you know nearest this owner key?"; a server looking itself up names
    its relays."""
    lookup_id: int = _field(LOOKUP_ID)
    owner: bytes = _field(KEY)
    relays: tuple | None = _field(RELAYS, optional=True)


@_message(wire.MSG_FOUND)
class Found(Message):
    lookup_id: int = _field(LOOKUP_ID)
    found: tuple = _field(_list(_descriptor, limits.MAX_FOUND_DESCRIPTORS))
    relays: tuple | None = _field(RELAYS, optional=True)


@_message(wire.MSG_UNICAST)
class Fragment(Message):
    """One fragment of a unicast message (UNICAST)."""
    mid: bytes = _field(MID)
    index: int = _field(_int(0, MOST_FRAGMENTS))
    count: int = _field(_int(1, MOST_FRAGMENTS))
    kind: int = _field(_int(KIND_MESSAGE, KIND_REFUSED))
    ref: bytes | None = _field(_nil_or(MID))
    chunk: bytes = _field(_bytes(most=limits.FRAGMENT_SIZE))

    def validate(self) -> None:
        if self.index >= self.count:
            raise MalformedFrame("fragment index out of range")


@_message(wire.MSG_UNICAST_ACK)
class FragmentAck(Message):
    mid: bytes = _field(MID)
    index: int = _field(_int(0, MOST_FRAGMENTS))


RELAYABLE = (Fragment, FragmentAck)


@_message(wire.MSG_RELAY)
class Relay(Message):
    destination: bytes = _field(KEY)
    destination_owner: bytes = _field(KEY)
    ttl: int = _field(_int(1, limits.MAX_RELAY_HOPS))
    path: tuple = _field(_list(KEY, limits.MAX_RELAY_HOPS, least=1))
    origin_owner: bytes = _field(KEY)
    inner: Message = _field(_relayable)


@_message(wire.MSG_RELAYED)
class Relayed(Message):
    origin: bytes = _field(KEY)
    origin_owner: bytes = _field(KEY)
    inner: Message = _field(_relayable)


@_message(wire.MSG_RELAY_REFUSED)
class RelayRefused(Message):
    destination: bytes = _field(KEY)


# --- NAT traversal (40-59) ---------------------------------------------------------------------
@_message(wire.MSG_WHOAMI)
class WhoAmI(Message):
    pass


@_message(wire.MSG_YOU_ARE)
class YouAre(Message):
    host: str = _field(wire.want_host)
    port: int = _field(PORT)


@_message(wire.MSG_PUNCH_REQUEST)
class PunchRequest(Message):
    destination: bytes = _field(KEY)


@_message(wire.MSG_PUNCH)
class Punch(Message):
    other: bytes = _field(KEY)
    other_owner: bytes = _field(KEY)
    host: str = _field(wire.want_host)
    port: int = _field(_int(1, 65535))
