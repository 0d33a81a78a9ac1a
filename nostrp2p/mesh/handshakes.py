"""Handshakes (PROTOCOL.md, INIT and RESP) and the state of the link to each peer, as an
explicit state machine.

    IDLE --initiate--> INITIATING --handshake over--> IDLE (then forgotten, or unreachable)
    IDLE, INITIATING, ESTABLISHED, REKEYING --session--> ESTABLISHED (or REKEYING while our
                                                         own handshake is still out)
    ESTABLISHED --initiate (rekey)--> REKEYING --handshake over--> ESTABLISHED

A RESP that completes our handshake ends it, then installs its session. The responder keeps an
answered INIT HALF-OPEN (by session id, with no peer yet) until a DATA frame on it decrypts:
that proves the initiator, and the session is installed for its peer (Links).

The machine is a table of (state, event) -> state rather than automat's MethodicalMachine:
the core is sans-I/O and driven through per-peer records and per-session-id tables (a half-open
handshake has no peer object), and a plain table costs nothing per datagram, while a transition
it does not list (a second handshake while one is out) raises at once."""

from __future__ import annotations

import collections
import enum

from nostrp2p.mesh import crypto, limits, messages as m
from nostrp2p.mesh.wire import MalformedFrame


class LinkState(enum.Enum):
    IDLE = "idle"  # known by address, no session, no handshake out
    INITIATING = "initiating"  # our INIT is out, no session yet
    ESTABLISHED = "established"
    REKEYING = "rekeying"  # a working session, and a fresh handshake out


_NEXT = {
    (LinkState.IDLE, "initiate"): LinkState.INITIATING,
    (LinkState.ESTABLISHED, "initiate"): LinkState.REKEYING,
    (LinkState.INITIATING, "handshake over"): LinkState.IDLE,
    (LinkState.REKEYING, "handshake over"): LinkState.ESTABLISHED,
    (LinkState.IDLE, "session"): LinkState.ESTABLISHED,
    (LinkState.ESTABLISHED, "session"): LinkState.ESTABLISHED,
    (LinkState.INITIATING, "session"): LinkState.REKEYING,  # its INIT won: ours is still out
    (LinkState.REKEYING, "session"): LinkState.REKEYING,
}


class Peer:
    __slots__ = ("overlay_key", "owner", "address", "current", "previous", "pending", "handshake",
                 "last_sent", "last_recv", "state")

    def __init__(self, overlay_key, owner, address, now):
        self.overlay_key = overlay_key
        self.owner = owner
        self.address = address
        self.current = None
        self.previous = None
        self.pending = collections.deque(maxlen=limits.MAX_PENDING_PER_PEER)
        self.handshake = None
        self.last_sent = now
        self.last_recv = now
        self.state = LinkState.IDLE

    def _move(self, event: str) -> None:
        following = _NEXT.get((self.state, event))
        if following is None:
            raise RuntimeError(f"link to {self.overlay_key.hex()[:16]}: no {event!r} when {self.state.value}")
        self.state = following

    def begin_handshake(self, hs) -> None:
        self._move("initiate")
        self.handshake = hs

    def end_handshake(self, hs) -> bool:
        """Our handshake ``hs`` is over (answered, failed, superseded): False if it was not this
        peer's (a later one replaced it)."""
        if self.handshake is not hs:
            return False
        self._move("handshake over")
        self.handshake = None
        return True

    def install(self, session) -> None:
        self._move("session")
        self.previous = self.current
        self.current = session


class Handshake:
    __slots__ = ("sid", "eph_secret", "init", "address", "expected", "attempts", "pending", "punch")

    def __init__(self, sid, eph_secret, init, address, expected):
        self.sid = sid
        self.eph_secret = eph_secret
        self.init = init
        self.address = address
        self.expected = expected  # overlay key we meant to reach, None for a bare address
        self.attempts = 1
        self.pending = collections.deque(maxlen=limits.MAX_PENDING_PER_PEER)
        self.punch = False  # a hole-punching attempt: its failure changes nothing


class HalfOpen:
    __slots__ = ("session", "address", "expires", "init_raw", "resp")

    def __init__(self, session, address, expires, init_raw, resp):
        self.session = session
        self.address = address
        self.expires = expires
        self.init_raw = init_raw
        self.resp = resp


class Handshakes:
    def __init__(self, node, links, network_key: bytes):
        self.node = node  # the core: emit, timers, rng, identity, counters, peer events
        self.links = links
        self.net_key = network_key
        self.out: dict[int, Handshake] = {}  # ours, by our session id
        self.half_open: dict[int, HalfOpen] = {}  # theirs we answered, by our session id

    def taken(self, sid: int) -> bool:
        return sid in self.out or sid in self.half_open

    # --- initiator ---------------------------------------------------------------------------
    def initiate(self, address, expected, now):
        """Send an INIT to ``address``, meant for overlay key ``expected`` (None: whoever is
        there); the Handshake, or None when too many are out."""
        if len(self.out) >= limits.MAX_HALF_OPEN:
            self.node.count("drop_out_handshake_table_full")
            return None
        sid = self.links.new_sid()
        eph_secret = self.node.rng.randbytes(32)
        eph_public = crypto.bindings.crypto_scalarmult_base(eph_secret)
        ident = self.node.identity
        init = crypto.make_init(self.net_key, eph_public, ident.public_key, ident.owner_key, sid)
        hs = Handshake(sid, eph_secret, init, address, expected)
        self.out[sid] = hs
        if expected is not None:
            self.links.peers[expected].begin_handshake(hs)
        self.node.emit(init, address, "init")
        self.node.timers.call_at(now + limits.HANDSHAKE_TIMEOUT, self._timer, sid)
        return hs

    def _timer(self, now, sid):
        hs = self.out.get(sid)
        if hs is None:
            return
        if hs.attempts < limits.HANDSHAKE_ATTEMPTS:
            hs.attempts += 1
            self.node.emit(hs.init, hs.address, "init")
            self.node.timers.call_at(now + limits.HANDSHAKE_TIMEOUT, self._timer, sid)
            return
        del self.out[sid]
        self.node.count("punch_timed_out" if hs.punch else "handshake_failed")
        if hs.expected is None:
            self.node.address_unreachable(hs.address, now)
            return
        peer = self.links.peers.get(hs.expected)
        if peer is not None and peer.end_handshake(hs):
            if peer.current is not None:
                # A rekey (or a punch) went unanswered: the session still works until
                # SESSION_MAX_AGE, and keepalives decide whether the peer is alive.
                return
            self.links.forget(hs.expected)
        if not hs.punch:  # an unanswered punch changes nothing: a relay goes on carrying
            self.node.peer_unreachable(hs.expected, now)

    def receive_resp(self, datagram, address, now):
        try:
            resp = crypto.parse_resp(datagram)
        except MalformedFrame:
            self.node.count("drop_malformed")
            return
        hs = self.out.get(resp.receiver_sid)
        if hs is None:
            self.node.count("drop_unknown_handshake")
            return
        try:
            send_key, recv_key = crypto.complete(self.net_key, self.node.identity.private_key,
                                                 hs.eph_secret, hs.init, resp)
        except (crypto.BadMac, MalformedFrame) as exc:
            self.node.count("drop_bad_handshake_mac" if isinstance(exc, crypto.BadMac) else "drop_malformed")
            return
        del self.out[hs.sid]
        if resp.overlay_key == self.node.identity.public_key:
            self.node.count("drop_self_handshake")
            return
        session = crypto.Session(hs.sid, resp.sender_sid, resp.overlay_key, resp.owner, send_key,
                                 recv_key, now, True)
        if hs.expected is not None and hs.expected != resp.overlay_key:
            # Someone else answers at that address now: the peer we wanted is gone from there.
            old = self.links.peers.get(hs.expected)
            if old is not None and old.end_handshake(hs):
                self.links.forget(hs.expected)
            if not hs.punch:
                self.node.peer_unreachable(hs.expected, now)
        known = self.links.peers.get(resp.overlay_key)
        if known is not None:
            known.end_handshake(hs)
        peer = self.links.install(session, address, now)
        if peer is None:
            return
        queued = list(hs.pending) + list(peer.pending)
        peer.pending.clear()
        self.links.flush(peer, queued or [m.Ping()], now)  # a PING proves us to the responder

    # --- responder ---------------------------------------------------------------------------
    def receive_init(self, datagram, address, now):
        try:
            init = crypto.parse_init(self.net_key, datagram)
        except (crypto.BadMac, MalformedFrame) as exc:
            self.node.count("drop_bad_handshake_mac" if isinstance(exc, crypto.BadMac) else "drop_malformed")
            return
        ident = self.node.identity
        if init.overlay_key == ident.public_key:
            self.node.count("drop_self_handshake")
            return
        for half in self.half_open.values():
            if half.init_raw == init.raw:  # a retransmitted INIT: same answer
                self.node.emit(half.resp, address, "resp")
                return
        self.expire_half_open(now)
        if len(self.half_open) >= limits.MAX_HALF_OPEN:
            self.node.count("drop_half_open_full")
            return
        sid = self.links.new_sid()
        eph_secret = self.node.rng.randbytes(32)
        eph_public = crypto.bindings.crypto_scalarmult_base(eph_secret)
        try:
            resp, send_key, recv_key = crypto.respond(
                self.net_key, ident.private_key, ident.public_key, ident.owner_key,
                eph_secret, eph_public, sid, init,
            )
        except MalformedFrame:
            self.node.count("drop_malformed")
            return
        session = crypto.Session(sid, init.sender_sid, init.overlay_key, init.owner, send_key,
                                 recv_key, now, False)
        expires = now + limits.HANDSHAKE_TIMEOUT * (limits.HANDSHAKE_ATTEMPTS + 1)
        self.half_open[sid] = HalfOpen(session, address, expires, init.raw, resp)
        self.node.emit(resp, address, "resp")

    def expire_half_open(self, now):
        for sid in [sid for sid, h in self.half_open.items() if h.expires <= now]:
            del self.half_open[sid]
