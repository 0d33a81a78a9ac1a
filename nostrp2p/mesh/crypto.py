"""Link security: the two-message X25519 handshake and the per-datagram AEAD with a replay window.

Handshake (docs/PROTOCOL.md has the bytes): the initiator sends its ephemeral public key and its overlay
key under a BLAKE2b MAC keyed by the network key (Argon2id of the network password, or zeros), so a
server without the password never answers an outsider. The responder answers with its own
ephemeral and overlay keys. Both derive the session keys from three Diffie-Hellman results:
ee (forward secrecy), es (only the real responder can compute it) and se (only the real
initiator can), the transcript hash, and the network key. The responder proves itself with an
AEAD tag in its answer; the initiator proves itself with its first data frame, and until then
the responder sends nothing on that session.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from nacl import bindings, pwhash
from nacl.exceptions import CryptoError

from nostrp2p.mesh import limits, relay_path, wire
from nostrp2p.mesh.wire import MalformedFrame

_AEAD_ENCRYPT = bindings.crypto_aead_chacha20poly1305_ietf_encrypt
_AEAD_DECRYPT = bindings.crypto_aead_chacha20poly1305_ietf_decrypt

ZERO_NETWORK_KEY = bytes(32)


# Argon2id wants a salt; the password is all two servers share before a handshake, so the salt is
# fixed and names the protocol. It keeps tables made for other uses of Argon2id useless here;
# each guess at one network's password still costs a full Argon2id run (docs/PROTOCOL.md).
NETWORK_KEY_SALT = hashlib.blake2b(b"nostrp2p network key", digest_size=pwhash.argon2id.SALTBYTES).digest()


@functools.lru_cache(maxsize=limits.NETWORK_KEYS_CACHED)
def network_key(password: str | bytes | None) -> bytes:
    """The 32-byte pre-shared key mixed into every handshake: Argon2id of the network password,
    or zeros for an open network. Slow on purpose (one sniffed INIT must not allow a dictionary
    attack at hash speed), so it is derived once and kept."""
    if not password:
        return ZERO_NETWORK_KEY
    if isinstance(password, str):
        password = password.encode("utf-8")
    return pwhash.argon2id.kdf(32, password, NETWORK_KEY_SALT,
                               opslimit=limits.NETWORK_KEY_OPSLIMIT,
                               memlimit=limits.NETWORK_KEY_MEMLIMIT)


def _nonce(counter: int) -> bytes:
    return b"\x00\x00\x00\x00" + counter.to_bytes(8, "little")


def public_key(secret: bytes) -> bytes:
    """The X25519 public key of ``secret`` (an ephemeral key's, in the handshake)."""
    return bindings.crypto_scalarmult_base(secret)


def _dh(secret: bytes, public: bytes) -> bytes:
    try:
        return bindings.crypto_scalarmult(secret, public)
    except (CryptoError, RuntimeError, ValueError, TypeError) as exc:
        # a low-order point yields an all-zero secret, which libsodium refuses
        raise MalformedFrame("unusable public key") from exc


def _init_mac(net_key: bytes, body: bytes) -> bytes:
    return hashlib.blake2b(body, key=net_key, digest_size=wire.TAG_SIZE, person=b"np2p-init-v1").digest()


def _derive(net_key: bytes, ee: bytes, es: bytes, se: bytes, transcript: bytes):
    okm = hashlib.blake2b(ee + es + se + transcript, key=net_key, digest_size=64, person=b"np2p-keys-v1").digest()
    return okm[:32], okm[32:]  # initiator->responder, responder->initiator


@dataclass(frozen=True)
class InitMessage:
    ephemeral: bytes
    overlay_key: bytes
    owner: bytes
    sender_sid: int
    raw: bytes  # the INIT without a cookie: what the transcript hashes, whichever was sent
    cookie: bytes | None = None


@dataclass(frozen=True)
class RespMessage:
    ephemeral: bytes
    overlay_key: bytes
    owner: bytes
    sender_sid: int
    receiver_sid: int
    prefix: bytes
    confirm: bytes


def make_init(net_key: bytes, eph_public: bytes, static_public: bytes, owner: bytes, sid: int,
              cookie: bytes | None = None) -> bytes:
    """An INIT; with ``cookie`` (from a COOKIE frame) the same fields and the cookie as a fifth."""
    fields = [eph_public, static_public, owner, sid] + ([cookie] if cookie is not None else [])
    body = bytes((wire.MAGIC, wire.FRAME_INIT)) + wire.pack(fields)
    return body + _init_mac(net_key, body)


def parse_init(net_key: bytes, datagram: bytes) -> InitMessage:
    """Raises MalformedFrame, or BadMac when the network key differs."""
    if len(datagram) < 2 + wire.TAG_SIZE:
        raise MalformedFrame("short INIT")
    body, mac = datagram[: -wire.TAG_SIZE], datagram[-wire.TAG_SIZE:]
    if not _constant_eq(_init_mac(net_key, body), mac):
        raise BadMac("INIT MAC does not match this network key")
    fields = wire.want_list(wire.unpack(body[2:]), len(_INIT_FIELDS) + 1)
    if len(fields) == len(_INIT_FIELDS) + 1:
        cookie = wire.want_bytes(fields.pop(), wire.TAG_SIZE)
        checked = [check(value) for check, value in zip(_INIT_FIELDS, fields)]
        return InitMessage(*checked, make_init(net_key, *checked), cookie)
    if len(fields) != len(_INIT_FIELDS):
        raise MalformedFrame(f"INIT has {len(_INIT_FIELDS)} fields, or one more with a cookie")
    return InitMessage(*[check(value) for check, value in zip(_INIT_FIELDS, fields)], datagram)


# --- cookies: a responder under load answers an INIT with one instead of with state -----------
COOKIE_FRAME_SIZE = 2 + 4 + 2 * wire.TAG_SIZE  # magic, type, sid_i, INIT MAC echoed, cookie


def cookie_for(secret: bytes, address) -> bytes:
    """The cookie of a source address under the responder's current secret: a MAC of host and
    port, so only who receives at that address learns it (see docs/PROTOCOL.md, COOKIE)."""
    data = relay_path.cookie_source(address)  # a relay path: bound to the relay and its far end
    return hashlib.blake2b(data, key=secret, digest_size=wire.TAG_SIZE, person=b"np2p-cookie-v1").digest()


def make_cookie_reply(init_datagram: bytes, sender_sid: int, cookie: bytes) -> bytes:
    """COOKIE: the INIT's session id and MAC (so only who saw that INIT can make the initiator
    use a cookie) and the cookie."""
    return (bytes((wire.MAGIC, wire.FRAME_COOKIE)) + sender_sid.to_bytes(4, "big")
            + init_datagram[-wire.TAG_SIZE:] + cookie)


def parse_cookie_reply(datagram: bytes) -> tuple[int, bytes, bytes]:
    """(initiator's session id, INIT MAC it answers, cookie); MalformedFrame if not that shape."""
    if len(datagram) != COOKIE_FRAME_SIZE:
        raise MalformedFrame("a COOKIE frame is exactly 38 bytes")
    sid = int.from_bytes(datagram[2:6], "big")
    return sid, datagram[6:6 + wire.TAG_SIZE], datagram[6 + wire.TAG_SIZE:]


def _key(value) -> bytes:
    return wire.want_bytes(value, 32)


def _sid(value) -> int:
    return wire.want_int(value, 1, 2 ** 32 - 1)


_INIT_FIELDS = (_key, _key, _key, _sid)  # ephemeral, overlay key, owner, sender's session id
_RESP_FIELDS = (_key, _key, _key, _sid, _sid)  # ... and the initiator's session id


def _fields(packed: bytes, checks, what: str) -> list:
    fields = wire.want_list(wire.unpack(packed), len(checks))
    if len(fields) != len(checks):
        raise MalformedFrame(f"{what} has {len(checks)} fields")
    return [check(value) for check, value in zip(checks, fields)]


class BadMac(MalformedFrame):
    """Authentication failed: wrong network password, or forged/corrupted bytes."""


def _constant_eq(a: bytes, b: bytes) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def respond(net_key, static_secret, static_public, owner, eph_secret, eph_public, sid, init: InitMessage):
    """Responder side: returns (RESP datagram, key to send, key to receive)."""
    prefix = bytes((wire.MAGIC, wire.FRAME_RESP)) + wire.pack(
        [eph_public, static_public, owner, sid, init.sender_sid]
    )
    ee = _dh(eph_secret, init.ephemeral)
    es = _dh(static_secret, init.ephemeral)
    se = _dh(eph_secret, init.overlay_key)
    transcript = hashlib.blake2b(init.raw + prefix, digest_size=32).digest()
    i2r, r2i = _derive(net_key, ee, es, se, transcript)
    confirm = _AEAD_ENCRYPT(b"", transcript, _nonce(0), r2i)
    return prefix + confirm, r2i, i2r


def parse_resp(datagram: bytes) -> RespMessage:
    if len(datagram) < 2 + wire.TAG_SIZE:
        raise MalformedFrame("short RESP")
    prefix, confirm = datagram[: -wire.TAG_SIZE], datagram[-wire.TAG_SIZE:]
    return RespMessage(*_fields(prefix[2:], _RESP_FIELDS, "RESP"), prefix, confirm)


def complete(net_key, static_secret, eph_secret, init_raw: bytes, resp: RespMessage):
    """Initiator side: verify the responder's proof; returns (key to send, key to receive)."""
    ee = _dh(eph_secret, resp.ephemeral)
    es = _dh(eph_secret, resp.overlay_key)
    se = _dh(static_secret, resp.ephemeral)
    transcript = hashlib.blake2b(init_raw + resp.prefix, digest_size=32).digest()
    i2r, r2i = _derive(net_key, ee, es, se, transcript)
    try:
        _AEAD_DECRYPT(resp.confirm, transcript, _nonce(0), r2i)
    except CryptoError as exc:
        raise BadMac("RESP proof does not verify") from exc
    return i2r, r2i


class ReplayWindow:
    """Sliding window over received counters (RFC 6479 style, as a Python int bitmap)."""

    __slots__ = ("highest", "bitmap")

    def __init__(self):
        self.highest = 0
        self.bitmap = 1  # counter 0 belongs to the handshake proof, never to data

    def fresh(self, counter: int) -> bool:
        if counter > self.highest:
            return True
        offset = self.highest - counter
        if offset >= limits.REPLAY_WINDOW:
            return False
        return not (self.bitmap >> offset) & 1

    def mark(self, counter: int) -> None:
        if counter > self.highest:
            shift = counter - self.highest
            self.bitmap = ((self.bitmap << shift) | 1) & ((1 << limits.REPLAY_WINDOW) - 1)
            self.highest = counter
        else:
            self.bitmap |= 1 << (self.highest - counter)


@dataclass(slots=True, eq=False)
class Session:
    """One direction pair of AEAD keys between us and a peer identity."""

    local_sid: int
    remote_sid: int
    peer_overlay_key: bytes
    peer_owner: bytes
    send_key: bytes
    recv_key: bytes
    created: float
    initiator: bool
    send_counter: int = 0
    window: ReplayWindow = field(default_factory=ReplayWindow)
    # The initiator has verified the responder's proof; the responder waits for the first valid
    # data frame before trusting the session.
    confirmed: bool = False
    last_recv: float = 0.0
    # The same IETF ChaCha20-Poly1305 as libsodium's (RFC 8439, the same bytes), keyed per
    # session: a datagram then costs about 2 us to seal or open instead of PyNaCl's 10. A keyed
    # cipher holds about 2.2 KB outside Python (two OpenSSL contexts): made at first use and
    # dropped by ``rest`` when the session goes quiet, since most sessions a server holds are
    # quiet (lookups, quiet trees) and keying one again costs 2 us.
    _sealer: ChaCha20Poly1305 | None = field(init=False, repr=False, default=None)
    _opener: ChaCha20Poly1305 | None = field(init=False, repr=False, default=None)

    def __post_init__(self):
        self.confirmed = self.initiator
        self.last_recv = self.created

    def seal(self, plaintext: bytes) -> bytes:
        self.send_counter += 1
        header = wire.DATA_HEADER.pack(wire.MAGIC, wire.FRAME_DATA, self.remote_sid, self.send_counter)
        sealer = self._sealer
        if sealer is None:
            sealer = self._sealer = ChaCha20Poly1305(self.send_key)
        return header + sealer.encrypt(_nonce(self.send_counter), plaintext, header)

    def open(self, datagram: bytes) -> bytes:
        """Decrypt a DATA frame addressed to this session; raises Replayed or BadMac."""
        header = datagram[: wire.DATA_HEADER_SIZE]
        counter = wire.DATA_HEADER.unpack(header)[3]
        if not self.window.fresh(counter):
            raise Replayed("counter already seen or too old")
        opener = self._opener
        if opener is None:
            opener = self._opener = ChaCha20Poly1305(self.recv_key)
        try:
            plaintext = opener.decrypt(_nonce(counter), datagram[wire.DATA_HEADER_SIZE:], header)
        except InvalidTag as exc:
            raise BadMac("data frame does not decrypt") from exc
        self.window.mark(counter)
        return plaintext

    def rest(self) -> None:
        """Let go of the keyed ciphers (the session stays: the next frame keys them again)."""
        self._sealer = self._opener = None

    def expired(self, now: float) -> bool:
        return now - self.created > limits.SESSION_MAX_AGE or self.send_counter >= limits.REKEY_AFTER_MESSAGES


class Replayed(MalformedFrame):
    """A data frame whose counter the replay window has already accepted or left behind."""
