"""Every inner message of the overlay, typed: the one place where a message's shape is defined.

The plaintext of a DATA frame is a MessagePack array whose first element is the message type
(docs/PROTOCOL.md, "Inner messages"). ``decode`` turns it into one of the frozen classes below,
checking every field (types, lengths, counts, ranges, enum values, hosts as IP literals) or
raising MalformedFrame (UnknownMessageType for a type nobody defined); handlers only ever see
these classes. ``message.encode()`` is the array that goes on the wire.

Each class lists its fields in wire order with the check that decodes one; a field declared
``_field(check, optional=True)`` may be left off the end of the array (and is, when None).
"""

from __future__ import annotations

import collections
import hashlib

from nostrp2p.mesh import limits, wire
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.wire import MalformedFrame  # noqa: F401 (handlers raise it from here)

# Largest fragment index of a unicast message (and so largest fragment count).
MOST_FRAGMENTS = limits.MAX_UNICAST_PAYLOAD // limits.FRAGMENT_SIZE + 1

KIND_MESSAGE = 0
KIND_REQUEST = 1
KIND_REPLY = 2
KIND_REFUSED = 3  # the destination could not answer a request; payload is its reason
KIND_CHANNEL = 4  # a follower-channel message between tree neighbours (channels.py)


class UnknownMessageType(MalformedFrame):
    """An inner message whose type number no class below has."""


# --- field checks: value from the wire -> value for the class, or MalformedFrame ------------------
# A check whose value is not sent as it is (a descriptor, a nested message) has ``to_wire``.
def _to_wire(check, to_wire):
    check.to_wire = to_wire
    return check


# (These run for every field of every message received: type() is, not isinstance, keeps them
# cheap, and refuses bool where an int is expected as a bonus.)
def _bytes(size=None, most=None):
    def check(value):
        if type(value) is not bytes or (size is not None and len(value) != size) \
                or (most is not None and len(value) > most):
            raise MalformedFrame(f"expected a byte string of {size or f'at most {most}'}")
        return value
    return check


def _int(low, high):
    def check(value):
        if type(value) is not int or not low <= value <= high:
            raise MalformedFrame(f"expected an integer in {low}..{high}")
        return value
    return check


def _bool(value):
    if not isinstance(value, bool):
        raise MalformedFrame("expected a boolean")
    return value


def _list(item, most, least=0):
    def check(value):
        items = wire.want_list(value, most)
        if len(items) < least:
            raise MalformedFrame(f"an array of at least {least}")
        return tuple(map(item, items))
    item_to_wire = getattr(item, "to_wire", None)
    if item_to_wire is None:
        return check  # a tuple of plain values packs as an array as it is
    return _to_wire(check, lambda values: [item_to_wire(v) for v in values])


def _nil_or(check):
    nil_or = lambda value: None if value is None else check(value)  # noqa: E731
    to_wire = getattr(check, "to_wire", None)
    if to_wire is None:
        return nil_or
    return _to_wire(nil_or, lambda value: None if value is None else to_wire(value))


def _descriptor(value):
    return Descriptor.decode(value)


def _found_descriptor(value):
    return Descriptor.decode(value, with_binding=True)


_to_wire(_descriptor, Descriptor.encode)
_to_wire(_found_descriptor, Descriptor.encode)


KEY = _bytes(32)
MID = _bytes(16)
PORT = _int(0, 65535)
LOOKUP_ID = _int(0, 0xFFFFFFFF)
TTL = _int(0, limits.ACTIVE_RANDOM_WALK)
SAMPLE = _list(_descriptor, limits.MAX_SAMPLE_DESCRIPTORS)
RELAYS = _list(_descriptor, limits.RELAY_HINTS_PER_DESTINATION)


class _Field:
    __slots__ = ("check", "optional")

    def __init__(self, check, optional):
        self.check = check
        self.optional = optional


def _field(check, optional=False):
    """A message field decoded by ``check``; an ``optional`` one may be missing at the end."""
    return _Field(check, optional)


# --- the table ---------------------------------------------------------------------------------
_BY_TYPE: dict[int, type] = {}


def _message(type_number: int):
    """Make the class an immutable message (a named tuple of its annotated fields, in order)
    registered under its type number, and write out its decoder."""
    def register(cls):
        names = tuple(cls.__dict__.get("__annotations__", {}))
        specs = [cls.__dict__[name] for name in names]
        optional = sum(1 for spec in specs if spec.optional)
        fields = collections.namedtuple(f"{cls.__name__}Fields", names, defaults=[None] * optional)
        body = {k: v for k, v in cls.__dict__.items()
                if k not in names and k not in ("__dict__", "__weakref__")}
        body.update(__slots__=(), __eq__=_same, __ne__=_different, __hash__=_hash, __repr__=_repr)
        cls = type(cls.__name__, (fields, Message), body)
        cls.TYPE = type_number
        cls._checks = tuple(spec.check for spec in specs)
        cls._least = len(specs) - optional
        cls._decode = staticmethod(_decoder(cls, [_nil_or(spec.check) if spec.optional else spec.check
                                                  for spec in specs]))
        cls._wire = tuple(getattr(check, "to_wire", None) for check in cls._checks)
        cls._plain = not any(cls._wire)
        cls._validates = cls.validate is not Message.validate
        if type_number in _BY_TYPE:
            raise RuntimeError(f"message type {type_number} defined twice")
        _BY_TYPE[type_number] = cls
        return cls
    return register


# Two messages are equal when they are of one type with equal fields (tuples alone compare
# their fields only).
def _same(self, other):
    return type(self) is type(other) and tuple.__eq__(self, other)


def _different(self, other):
    return not _same(self, other)


def _hash(self):
    return hash((self.TYPE, tuple(self)))


def _repr(self):
    return f"{type(self).__name__}({', '.join(f'{n}={v!r}' for n, v in zip(self._fields, self))})"


def _decoder(cls, checks):
    """``decode(values)`` -> an instance of ``cls``, each value through its check: written out
    for each class (as dataclasses writes its __init__), since it runs for every message."""
    names = {f"check_{i}": check for i, check in enumerate(checks)}
    arguments = "".join(f"check_{i}(values[{i}]), " for i in range(len(checks)))
    source = f"def decode(values):\n    return new(cls, ({arguments}))\n"
    exec(source, {"cls": cls, "new": tuple.__new__, **names}, names)  # noqa: S102 (our own text)
    return names["decode"]


class Message:
    """What every message class has: TYPE, encode() and validate(); its fields are read by name
    and cannot be changed."""

    __slots__ = ()
    TYPE = 0
    _checks: tuple = ()
    _least = 0
    _wire: tuple = ()  # per field: how its value goes on the wire, None: as it is
    _plain = True
    _validates = False

    def encode(self) -> list:
        values = self
        if not self._plain:
            values = [v if to_wire is None or v is None else to_wire(v)
                      for to_wire, v in zip(self._wire, values)]
        if len(values) > self._least and values[-1] is None:
            values = list(values)
            while len(values) > self._least and values[-1] is None:
                values.pop()
        return [self.TYPE, *values]

    def validate(self) -> None:
        """Checks between fields, after each field was decoded on its own."""


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
    missing = len(cls._checks) - len(values)
    if missing:
        if not 0 < missing <= len(cls._checks) - cls._least:
            raise MalformedFrame(f"{cls.__name__} has {cls._least}..{len(cls._checks)} fields")
        values += [None] * missing  # optional fields left off the end
    message = cls._decode(values)
    if cls._validates:
        message.validate()
    return message


def types() -> dict[int, type]:
    """Type number -> message class, for every inner message (docs/PROTOCOL.md's table)."""
    return dict(_BY_TYPE)


# --- link (1-9) --------------------------------------------------------------------------------
@_message(wire.MSG_PING)
class Ping(Message):
    """Keepalive to an active neighbour sent nothing for KEEPALIVE_INTERVAL."""


@_message(wire.MSG_CLOSE)
class Close(Message):
    """The sender forgets this session (clean shutdown)."""


@_message(wire.MSG_CLAIM)
class Claim(Message):
    """The sender's owner binding (None: it has none to show) on a new session; ``answer``:
    send me yours (or a CLAIM without one), which also says this one arrived."""
    binding: bytes | None = _field(_nil_or(_bytes(most=limits.MAX_BINDING_SIZE)))
    answer: bool = _field(_bool)


# --- membership (10-19) -------------------------------------------------------------------------
@_message(wire.MSG_JOIN)
class Join(Message):
    """To a bootstrap server: "take me as a neighbour"."""


@_message(wire.MSG_JOIN_ACCEPT)
class JoinAccept(Message):
    """The contact took the joiner into its active view."""


@_message(wire.MSG_FORWARD_JOIN)
class ForwardJoin(Message):
    """A random walk announcing a joiner (ACTIVE_RANDOM_WALK hops)."""
    joiner: Descriptor = _field(_descriptor)
    ttl: int = _field(TTL)


@_message(wire.MSG_NEIGHBOR)
class Neighbor(Message):
    """Asks to become active neighbours (a high priority one cannot be refused)."""
    high_priority: bool = _field(_bool)


@_message(wire.MSG_NEIGHBOR_REPLY)
class NeighborReply(Message):
    """The answer to NEIGHBOR."""
    accepted: bool = _field(_bool)


@_message(wire.MSG_DISCONNECT)
class Disconnect(Message):
    """The sender moved us to its passive view."""


@_message(wire.MSG_SHUFFLE)
class Shuffle(Message):
    """A random walk exchanging samples of the views."""
    origin: Descriptor | None = _field(_nil_or(_descriptor))  # None: the sender itself
    ttl: int = _field(TTL)
    sample: tuple = _field(SAMPLE)


@_message(wire.MSG_SHUFFLE_REPLY)
class ShuffleReply(Message):
    """A passive sample back to the origin of a SHUFFLE."""
    sample: tuple = _field(SAMPLE)


# --- broadcast (20-29) --------------------------------------------------------------------------
def gossip_id(origin_owner: bytes, salt: bytes, payload: bytes) -> bytes:
    """The id of a broadcast: a hash over everything it claims, so that another payload, origin
    or salt is another broadcast (docs/PROTOCOL.md, "Broadcast")."""
    return hashlib.blake2b(origin_owner + salt + payload, digest_size=16,
                           person=GOSSIP_ID_PERSON).digest()


GOSSIP_ID_PERSON = b"nostrp2p gossip"
GOSSIP_SALT_SIZE = 8


@_message(wire.MSG_GOSSIP)
class Gossip(Message):
    """A broadcast payload (Plumtree eager push). ``mid`` must be gossip_id of the rest: every
    hop checks it (``id_matches``) before believing anything about it."""
    mid: bytes = _field(MID)
    origin_owner: bytes = _field(KEY)
    salt: bytes = _field(_bytes(GOSSIP_SALT_SIZE))
    hops: int = _field(_int(0, limits.MAX_HOPS))
    payload: bytes = _field(_bytes())

    def id_matches(self) -> bool:
        return gossip_id(self.origin_owner, self.salt, self.payload) == self.mid


@_message(wire.MSG_IHAVE)
class IHave(Message):
    """Lazy announcement of broadcasts the sender has."""
    mids: tuple = _field(_list(MID, limits.MAX_IHAVE_IDS))


@_message(wire.MSG_GRAFT)
class Graft(Message):
    """Send me that one, and push to me eagerly from now on."""
    mid: bytes = _field(MID)


@_message(wire.MSG_PRUNE)
class Prune(Message):
    """Stop pushing payloads to me eagerly."""


# --- unicast and routing (30-39) -----------------------------------------------------------------
@_message(wire.MSG_FIND)
class Find(Message):
    """Which servers do you know nearest this owner key? A server looking itself up names its
    relays."""
    lookup_id: int = _field(LOOKUP_ID)
    owner: bytes = _field(KEY)
    relays: tuple | None = _field(RELAYS, optional=True)


@_message(wire.MSG_FOUND)
class Found(Message):
    """The answer to FIND; a server naming itself gives host 0.0.0.0, port 0."""
    lookup_id: int = _field(LOOKUP_ID)
    found: tuple = _field(_list(_found_descriptor, limits.MAX_FOUND_DESCRIPTORS))
    relays: tuple | None = _field(RELAYS, optional=True)


@_message(wire.MSG_UNICAST)
class Fragment(Message):
    """One fragment of a unicast message (UNICAST)."""
    mid: bytes = _field(MID)
    index: int = _field(_int(0, MOST_FRAGMENTS))
    count: int = _field(_int(1, MOST_FRAGMENTS))
    kind: int = _field(_int(KIND_MESSAGE, KIND_CHANNEL))
    ref: bytes | None = _field(_nil_or(MID))
    chunk: bytes = _field(_bytes(most=limits.MAX_FRAGMENT_CHUNK))

    def validate(self) -> None:
        if self.index >= self.count:
            raise MalformedFrame("fragment index out of range")


@_message(wire.MSG_UNICAST_ACK)
class FragmentAck(Message):
    """That fragment arrived (UNICAST_ACK; sent for every copy, even a duplicate)."""
    mid: bytes = _field(MID)
    index: int = _field(_int(0, MOST_FRAGMENTS))


# What an end-to-end session through a relay carries (either way): unicast fragments and their
# acknowledgements, and what the session itself needs (keepalive, close, the CLAIM of a binding).
# Anything else is neither sent nor taken
# on a relay path (its handlers expect a peer at a UDP address).
RELAYABLE = (Fragment, FragmentAck, Ping, Close, Claim)

CARRIED = _bytes(most=limits.MAX_RELAYED_DATAGRAM)


@_message(wire.MSG_RELAY)
class Relay(Message):
    """Pass this datagram on toward that server (the path grows at each hop). The datagram is
    an INIT, RESP, COOKIE or DATA frame of the origin's session with the destination: the
    relays carry it without being able to read or change it."""
    destination: bytes = _field(KEY)
    destination_owner: bytes = _field(KEY)
    ttl: int = _field(_int(1, limits.MAX_RELAY_HOPS))
    path: tuple = _field(_list(KEY, limits.MAX_RELAY_HOPS, least=1))
    origin_owner: bytes = _field(KEY)
    datagram: bytes = _field(CARRIED)


@_message(wire.MSG_RELAYED)
class Relayed(Message):
    """A carried datagram, handed to its destination. ``origin`` and ``origin_owner`` are what
    the relays say: where answers go back to, believed only once the datagram authenticates
    as ``origin``'s."""
    origin: bytes = _field(KEY)
    origin_owner: bytes = _field(KEY)
    datagram: bytes = _field(CARRIED)


@_message(wire.MSG_RELAY_REFUSED)
class RelayRefused(Message):
    """From the first relay to the origin: "I will not carry this to that server"."""
    destination: bytes = _field(KEY)


# --- NAT traversal (40-59) ---------------------------------------------------------------------
@_message(wire.MSG_WHOAMI)
class WhoAmI(Message):
    """Where do my datagrams come from? (once per new session)."""


@_message(wire.MSG_YOU_ARE)
class YouAre(Message):
    """The address the asker's datagrams came from."""
    host: str = _field(wire.want_host)
    port: int = _field(PORT)


@_message(wire.MSG_PUNCH_REQUEST)
class PunchRequest(Message):
    """To an introducer: "have that server open its NAT towards me"."""
    destination: bytes = _field(KEY)


@_message(wire.MSG_PUNCH)
class Punch(Message):
    """From the introducer, to both sides: "send your handshake there"."""
    other: bytes = _field(KEY)
    other_owner: bytes = _field(KEY)
    host: str = _field(wire.want_host)
    port: int = _field(_int(1, 65535))
