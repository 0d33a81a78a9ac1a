"""STUN Binding (RFC 5389) on the overlay's own UDP socket, sans-I/O.

Every server answers Binding requests, so any public server is a STUN server for the others, and
a standard STUN client can query it. Overlay frames never begin with two zero bits, STUN
messages always do (and carry the magic cookie), which is how :func:`looks_like_stun` tells them
apart on one socket.
"""

from __future__ import annotations

import binascii
import collections
import ipaddress
import os
import struct
from dataclasses import dataclass
from typing import Optional

from nostrp2p.bounded import WindowBudget
from nostrp2p.mesh import limits

MAGIC_COOKIE = 0x2112A442
HEADER = struct.Struct("!HHI12s")
HEADER_SIZE = HEADER.size  # 20

BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
BINDING_ERROR = 0x0111

MAPPED_ADDRESS = 0x0001
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
XOR_MAPPED_ADDRESS = 0x0020
SOFTWARE = 0x8022
FINGERPRINT = 0x8028
_FINGERPRINT_XOR = 0x5354554E

SOFTWARE_NAME = b"NostrP2P"
LARGEST_ANSWER = HEADER_SIZE + 4 + 20 + 8  # XOR-MAPPED-ADDRESS of an IPv6 source, FINGERPRINT
MAX_STUN_BYTES = 548
"""RFC 5389 7.1: a message over UDP without path MTU knowledge stays within 548 bytes; we
refuse larger ones rather than parse them."""

# Client transaction timing, RFC 5389 section 7.2.1.
INITIAL_RTO = 0.5
MAX_TRANSMISSIONS = 7  # Rc
LAST_WAIT_FACTOR = 16  # Rm


class StunError(ValueError):
    """A datagram that looked like STUN but is not a valid STUN message."""


@dataclass(frozen=True)
class StunMessage:
    msg_type: int
    transaction_id: bytes  # 12 bytes; 16 (cookie position included) for an RFC 3489 message
    attributes: tuple[tuple[int, bytes], ...]

    @property
    def classic(self) -> bool:
        return len(self.transaction_id) == 16

    def get(self, attr_type: int) -> Optional[bytes]:
        for kind, value in self.attributes:
            if kind == attr_type:
                return value
        return None

    @property
    def is_request(self) -> bool:
        return self.msg_type & 0x0110 == 0x0000


_COOKIE_BYTES = MAGIC_COOKIE.to_bytes(4, "big")


def _is_classic_request(datagram: bytes) -> bool:
    # RFC 3489 clients send no magic cookie (a 16-byte transaction id instead); RFC 5389
    # section 12 asks servers to answer them, with MAPPED-ADDRESS.
    return (
        datagram[:2] == b"\x00\x01"
        and int.from_bytes(datagram[2:4], "big") == len(datagram) - HEADER_SIZE
    )


def looks_like_stun(datagram: bytes) -> bool:
    return (
        len(datagram) >= HEADER_SIZE
        and datagram[0] & 0xC0 == 0
        and (datagram[4:8] == _COOKIE_BYTES or _is_classic_request(datagram))
    )


def _fingerprint(data: bytes) -> bytes:
    return struct.pack("!I", binascii.crc32(data) ^ _FINGERPRINT_XOR)


def decode(datagram: bytes) -> StunMessage:
    """Parse a STUN message; :class:`StunError` unless it is well formed and, when it carries a
    FINGERPRINT, the fingerprint is right."""
    if len(datagram) > MAX_STUN_BYTES:
        raise StunError(f"message of {len(datagram)} bytes is over {MAX_STUN_BYTES}")
    if not looks_like_stun(datagram):
        raise StunError("no STUN header (first two bits, magic cookie)")
    msg_type, length, cookie, txid = HEADER.unpack_from(datagram)
    if cookie != MAGIC_COOKIE:
        txid = datagram[4:HEADER_SIZE]
    if length % 4 or HEADER_SIZE + length != len(datagram):
        raise StunError("message length does not match the datagram")
    attributes = []
    offset = HEADER_SIZE
    while offset < len(datagram):
        if offset + 4 > len(datagram):
            raise StunError("truncated attribute header")
        attr_type, attr_len = struct.unpack_from("!HH", datagram, offset)
        value_end = offset + 4 + attr_len
        padded_end = offset + 4 + (attr_len + 3) // 4 * 4
        if padded_end > len(datagram):
            raise StunError(f"attribute 0x{attr_type:04x} runs past the end")
        value = datagram[offset + 4:value_end]
        if attr_type == FINGERPRINT:
            if padded_end != len(datagram) or attr_len != 4 or len(txid) != 12:
                raise StunError("FINGERPRINT must be the last attribute, 4 bytes")
            if value != _fingerprint(datagram[:offset]):
                raise StunError("FINGERPRINT does not match")
        attributes.append((attr_type, value))
        offset = padded_end
    return StunMessage(msg_type, txid, tuple(attributes))


def encode(msg_type: int, transaction_id: bytes, attributes=(), fingerprint: bool = True) -> bytes:
    """A STUN message; a 16-byte transaction id makes an RFC 3489 one (no cookie, no
    fingerprint: its clients know neither)."""
    body = b"".join(
        struct.pack("!HH", kind, len(value)) + value + b"\x00" * (-len(value) % 4)
        for kind, value in attributes
    )
    if len(transaction_id) == 16:
        return struct.pack("!HH", msg_type, len(body)) + transaction_id + body
    length = len(body) + (8 if fingerprint else 0)
    message = HEADER.pack(msg_type, length, MAGIC_COOKIE, transaction_id) + body
    if fingerprint:
        message += struct.pack("!HH", FINGERPRINT, 4) + _fingerprint(message)
    return message


def encode_address(host: str, port: int, transaction_id: Optional[bytes]) -> bytes:
    """XOR-MAPPED-ADDRESS (given the 12-byte transaction id) or MAPPED-ADDRESS (given None)."""
    address = ipaddress.ip_address(host)
    family = 0x01 if address.version == 4 else 0x02
    raw = address.packed
    if transaction_id is not None:
        key = _COOKIE_BYTES + transaction_id
        raw = bytes(a ^ b for a, b in zip(raw, key))
        port ^= MAGIC_COOKIE >> 16
    return struct.pack("!BBH", 0, family, port) + raw


def decode_address(value: bytes, transaction_id: Optional[bytes]) -> tuple[str, int]:
    """XOR-MAPPED-ADDRESS (given the transaction id) or MAPPED-ADDRESS (given None)."""
    if len(value) < 4:
        raise StunError("address attribute too short")
    _, family, port = struct.unpack_from("!BBH", value)
    size = {0x01: 4, 0x02: 16}.get(family)
    if size is None or len(value) != 4 + size:
        raise StunError("address attribute has a bad family or length")
    raw = value[4:]
    if transaction_id is not None:
        key = _COOKIE_BYTES + transaction_id
        raw = bytes(a ^ b for a, b in zip(raw, key))
        port ^= MAGIC_COOKIE >> 16
    return str(ipaddress.ip_address(raw)), port


def mapped_address(message: StunMessage) -> tuple[str, int]:
    """The reflexive address of a Binding success response (XOR-MAPPED-ADDRESS preferred,
    MAPPED-ADDRESS accepted from older servers)."""
    value = message.get(XOR_MAPPED_ADDRESS)
    if value is not None:
        return decode_address(value, message.transaction_id)
    value = message.get(MAPPED_ADDRESS)
    if value is not None:
        return decode_address(value, None)
    raise StunError("Binding response without a mapped address")


def binding_request(transaction_id: Optional[bytes] = None) -> bytes:
    """Our request, padded (its SOFTWARE value, an attribute every server may ignore) to the size
    of the largest answer, so that servers which hold back answers larger than their request (as
    ours do, see :class:`Responder`) answer it at their full rate."""
    software = SOFTWARE_NAME.ljust(LARGEST_ANSWER - HEADER_SIZE - 4 - 8)
    return encode(BINDING_REQUEST, transaction_id or os.urandom(12), [(SOFTWARE, software)])


def answer(datagram: bytes, source: tuple[str, int]) -> Optional[bytes]:
    """The server side: the reply to a STUN datagram from ``source``, or None (not a Binding
    request: responses and indications are not answered). Raises :class:`StunError` for a
    malformed message, which the caller drops and counts."""
    message = decode(datagram)
    if message.msg_type != BINDING_REQUEST:
        return None
    unknown = [kind for kind, _ in message.attributes
               if kind < 0x8000 and kind not in (MAPPED_ADDRESS, XOR_MAPPED_ADDRESS, ERROR_CODE)]
    if unknown:
        # RFC 5389 7.3.1: unknown comprehension-required attributes get a 420 error.
        reason = b"Unknown Attribute"
        return encode(BINDING_ERROR, message.transaction_id, [
            (ERROR_CODE, struct.pack("!HBB", 0, 4, 20) + reason),
            (UNKNOWN_ATTRIBUTES, b"".join(struct.pack("!H", k) for k in unknown[:16])),
        ])
    host, port = source
    if message.classic:
        return encode(BINDING_SUCCESS, message.transaction_id, [
            (MAPPED_ADDRESS, encode_address(host, port, None)),
        ])
    return encode(BINDING_SUCCESS, message.transaction_id, [
        (XOR_MAPPED_ADDRESS, encode_address(host, port, message.transaction_id)),
    ])


class Responder:
    """:func:`answer` within a per-source allowance. An answer goes to an address that has proved
    nothing (UDP sources are forged at will), so it must not make this server an amplifier: each
    source IP gets STUN_ANSWERS_PER_SECOND_PER_SOURCE answers a second, and of those only
    STUN_LARGER_ANSWERS_PER_MINUTE a minute larger than their request. Our answers carry no
    SOFTWARE (which would only tell scanners what runs here)."""

    REFUSED = b""  # over the allowance: nothing to send (counted)

    def __init__(self):
        self.answers = WindowBudget(limits.STUN_ANSWERS_PER_SECOND_PER_SOURCE, 1.0, limits.STUN_SOURCES_TRACKED)
        self.larger = WindowBudget(limits.STUN_LARGER_ANSWERS_PER_MINUTE, 60.0, limits.STUN_SOURCES_TRACKED)
        self.stats = collections.Counter()

    def answer(self, datagram: bytes, source, now: float):
        """The answer to send, None (not a Binding request), or REFUSED; raises StunError."""
        reply = answer(datagram, source)
        if reply is None:
            return None
        host = source[0]
        if not (self.answers.allow(host, now)
                and (len(reply) <= len(datagram) or self.larger.allow(host, now))):
            self.stats["drop_stun_over_rate"] += 1
            return self.REFUSED
        self.stats["stun_answered"] += 1
        return reply


class BindingTransaction:
    """One Binding request as a client, with RFC 5389 retransmissions, sans-I/O.

    The caller sends :meth:`datagram` now and at every :attr:`deadline` until
    :meth:`on_timer` says the transaction timed out, and feeds responses to
    :meth:`on_response`.
    """

    def __init__(self, now: float, transaction_id: Optional[bytes] = None, rto: float = INITIAL_RTO):
        self.transaction_id = transaction_id or os.urandom(12)
        self._datagram = binding_request(self.transaction_id)
        self._initial_rto = rto
        self._rto = rto
        self._sent = 1
        self.deadline: Optional[float] = now + rto
        self.result: Optional[tuple[str, int]] = None
        self.failed = False

    def datagram(self) -> bytes:
        return self._datagram

    def on_timer(self, now: float) -> Optional[bytes]:
        """At or after :attr:`deadline`: the datagram to send again, or None when the
        transaction is over (then :attr:`failed` is True unless a response came)."""
        if self.deadline is None or now < self.deadline:
            return None
        if self._sent >= MAX_TRANSMISSIONS:
            self.deadline = None
            self.failed = self.result is None
            return None
        self._sent += 1
        self._rto *= 2
        wait = self._rto if self._sent < MAX_TRANSMISSIONS else LAST_WAIT_FACTOR * self._initial_rto
        self.deadline = now + wait
        return self._datagram

    def on_response(self, message: StunMessage) -> bool:
        """True when ``message`` answered this transaction (then :attr:`result` is set)."""
        if message.transaction_id != self.transaction_id or self.deadline is None:
            return False
        if message.msg_type == BINDING_SUCCESS:
            self.result = mapped_address(message)
        else:
            self.failed = True
        self.deadline = None
        return True
