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
import hmac

from nostrp2p.bounded import RecentTable
from nostrp2p.mesh import crypto, limits, messages as m, relay_path, wire
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


class _Queue:
    """Messages waiting for a session, at most MAX_PENDING_PER_PEER (the oldest dropped). The
    deque is made on the first message only: most peers never queue one, and an empty deque
    with a bound holds a 0.5 KB block (15% of the simulator's Python objects at 1,000 servers)."""
    __slots__ = ("pending",)

    def queue(self, message) -> None:
        if self.pending is None:
            self.pending = collections.deque(maxlen=limits.MAX_PENDING_PER_PEER)
        self.pending.append(message)

    def take_pending(self) -> list:
        queued = list(self.pending) if self.pending is not None else []
        self.pending = None
        return queued


class Peer(_Queue):
    __slots__ = ("overlay_key", "owner", "address", "current", "previous", "handshake",
                 "last_sent", "last_recv", "state", "placed")

    def __init__(self, overlay_key, owner, address, now):
        self.overlay_key = overlay_key
        self.owner = owner
        self.address = address
        self.current = None
        self.previous = None
        self.pending = None
        self.handshake = None
        self.last_sent = now
        self.last_recv = now
        self.state = LinkState.IDLE
        self.placed = 0  # its place in its Links' table (Links._add_peer)

    def _move(self, event: str) -> None:
        following = _NEXT.get((self.state, event))
        if following is None:
            raise RuntimeError(f"link to {self.overlay_key.hex()[:16]}: no {event!r} when {self.state.value}")
        self.state = following

    def quiet_for(self, now: float) -> float:
        """Seconds since anything went either way with this peer."""
        return now - max(self.last_recv, self.last_sent)

    def rest(self, now: float) -> None:
        """Quiet for SESSION_CIPHER_IDLE: the sessions let go of their keyed ciphers."""
        if self.quiet_for(now) > limits.SESSION_CIPHER_IDLE:
            for session in (self.current, self.previous):
                if session is not None:
                    session.rest()

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


class Handshake(_Queue):
    __slots__ = ("sid", "eph_secret", "init", "sent", "address", "expected", "attempts",
                 "punch", "cookies", "timer")

    def __init__(self, sid, eph_secret, init, address, expected):
        self.sid = sid
        self.eph_secret = eph_secret
        self.init = init  # without a cookie: what the transcript hashes
        self.sent = init  # what goes on the wire (with a cookie once the responder asked)
        self.cookies = 0  # COOKIE frames taken (bounded: each one makes us send again)
        self.address = address
        self.expected = expected  # overlay key we meant to reach, None for a bare address
        self.attempts = 1
        self.pending = None
        self.punch = False  # a hole-punching attempt: its failure changes nothing
        self.timer = None  # the call that resends or gives up (cancelled when answered)


class HalfOpen:
    __slots__ = ("session", "address", "expires", "ephemeral", "resp", "resends")

    def __init__(self, session, address, expires, ephemeral, resp):
        self.session = session
        self.address = address
        self.expires = expires
        self.ephemeral = ephemeral  # the initiator's: what makes a repeated INIT the same one
        self.resp = resp
        self.resends = 0


class HalfOpenTable:
    """Answered INITs waiting for the initiator's first DATA, by our session id, with what the
    admission rules of PROTOCOL.md ("COOKIE") look up: by initiator ephemeral, and per source
    IP address."""

    def __init__(self):
        self.by_sid: dict[int, HalfOpen] = {}
        self.by_ephemeral: dict[bytes, HalfOpen] = {}
        self.per_host: collections.Counter = collections.Counter()

    def __len__(self) -> int:
        return len(self.by_sid)

    def __contains__(self, sid) -> bool:
        return sid in self.by_sid

    def get(self, sid):
        return self.by_sid.get(sid)

    def add(self, sid, half: HalfOpen) -> None:
        self.by_sid[sid] = half
        self.by_ephemeral[half.ephemeral] = half
        for source in relay_path.sources(half.address):
            self.per_host[source] += 1

    def held(self, address) -> int:
        """Half-open handshakes held by the source(s) of ``address`` (the most of them)."""
        return max(self.per_host[source] for source in relay_path.sources(address))

    def pop(self, sid):
        half = self.by_sid.pop(sid, None)
        if half is not None:
            del self.by_ephemeral[half.ephemeral]
            for source in relay_path.sources(half.address):
                self.per_host[source] -= 1
                if not self.per_host[source]:
                    del self.per_host[source]
        return half

    def expire(self, now) -> None:
        for sid in [sid for sid, h in self.by_sid.items() if h.expires <= now]:
            self.pop(sid)


class CookieSecrets:
    """The responder's cookie secret, replaced every COOKIE_SECRET_LIFETIME (lazily: the core
    reads no clock), the previous one still accepted."""

    def __init__(self, rng):
        self.rng = rng
        self.current = self.previous = None
        self.replace_at = float("-inf")

    def _rotate(self, now):
        if now >= self.replace_at:
            fresh = now - self.replace_at >= limits.COOKIE_SECRET_LIFETIME  # both are stale
            self.previous = None if fresh else self.current
            self.current = self.rng.randbytes(32)
            self.replace_at = now + limits.COOKIE_SECRET_LIFETIME

    def cookie(self, address, now) -> bytes:
        self._rotate(now)
        return crypto.cookie_for(self.current, address)

    def valid(self, cookie, address, now) -> bool:
        self._rotate(now)
        return any(secret is not None and hmac.compare_digest(crypto.cookie_for(secret, address), cookie)
                   for secret in (self.current, self.previous))


class Handshakes:
    def __init__(self, node, links, network_key: bytes):
        self.node = node  # the core: emit, timers, rng, identity, counters, peer events
        self.links = links
        self.net_key = network_key
        self.out: dict[int, Handshake] = {}  # ours, by our session id
        self.half_open = HalfOpenTable()  # theirs we answered
        self.cookies = CookieSecrets(node.rng)
        # ephemeral keys of the INITs we answered -> until when a repeat of one is a replay
        self.answered = RecentTable(limits.INITS_REMEMBERED)

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
        eph_public = crypto.public_key(eph_secret)
        ident = self.node.identity
        init = crypto.make_init(self.net_key, eph_public, ident.public_key, ident.owner_key, sid)
        hs = Handshake(sid, eph_secret, init, address, expected)
        self.out[sid] = hs
        if expected is not None:
            self.links.peers[expected].begin_handshake(hs)
        self.node.emit(init, address, "init")
        hs.timer = self.node.timers.call_at(now + limits.HANDSHAKE_TIMEOUT, self._timer, sid)
        return hs

    def _timer(self, now, sid):
        hs = self.out.get(sid)
        if hs is None:
            return
        if hs.attempts < limits.HANDSHAKE_ATTEMPTS:
            hs.attempts += 1
            self.node.emit(hs.sent, hs.address, "init")
            hs.timer = self.node.timers.call_at(now + limits.HANDSHAKE_TIMEOUT, self._timer, sid)
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
        if not self.links.far_end_is(address, resp.overlay_key):
            return  # through a relay that named another origin (counted by Links)
        del self.out[hs.sid]
        hs.timer.cancel()
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
        queued = hs.take_pending() + peer.take_pending()
        self.links.flush(peer, queued or [m.Ping()], now)  # a PING proves us to the responder

    def receive_cookie(self, datagram, address, now):
        """A COOKIE frame: the responder is under load and wants our INIT again with the cookie."""
        try:
            sid, init_mac, cookie = crypto.parse_cookie_reply(datagram)
        except MalformedFrame:
            self.node.count("drop_malformed")
            return
        hs = self.out.get(sid)
        if hs is None or hs.sent[-wire.TAG_SIZE:] != init_mac or hs.address != address:
            self.node.count("drop_unknown_handshake")
            return
        if hs.cookies >= limits.HANDSHAKE_ATTEMPTS:
            self.node.count("drop_cookie_loop")
            return
        hs.cookies += 1
        self.node.count("cookie_received")
        ident = self.node.identity
        hs.sent = crypto.make_init(self.net_key, crypto.public_key(hs.eph_secret),
                                   ident.public_key, ident.owner_key, hs.sid, cookie)
        self.node.emit(hs.sent, hs.address, "init")

    # --- responder ---------------------------------------------------------------------------
    def receive_init(self, datagram, address, now):
        """Answer an INIT, by the admission rules of PROTOCOL.md ("COOKIE"): everything before
        the RESP is stateless and costs a few BLAKE2b, so a flood of forged or replayed INITs
        costs no more; what it may cost in state is bounded per source and in all."""
        try:
            init = crypto.parse_init(self.net_key, datagram)
        except (crypto.BadMac, MalformedFrame) as exc:
            self.node.count("drop_bad_handshake_mac" if isinstance(exc, crypto.BadMac) else "drop_malformed")
            return
        ident = self.node.identity
        if init.overlay_key == ident.public_key:
            self.node.count("drop_self_handshake")
            return
        if not self.links.far_end_is(address, init.overlay_key):
            return  # through a relay that named another origin (counted by Links)
        proven = init.cookie is not None and self.cookies.valid(init.cookie, address, now)
        self.expire_half_open(now)
        half = self.half_open.by_ephemeral.get(init.ephemeral)
        if half is not None or self._answered_before(init.ephemeral, now):
            # The same INIT again: lost RESP, or a replay. Only a source that proves it receives
            # at the address the INIT first came from gets the same RESP again (within bounds).
            if not proven:
                self._send_cookie(datagram, init, address, now)
            elif (half is not None and half.address == address
                    and half.resends < limits.RESP_RESENDS):
                half.resends += 1
                self.node.emit(half.resp, address, "resp")
            else:
                self.node.count("drop_replayed_init")
            return
        held = self.half_open.held(address)
        if not proven and (len(self.half_open) >= limits.HALF_OPEN_UNDER_LOAD
                           or held >= limits.HALF_OPEN_UNPROVEN_PER_SOURCE):
            self._send_cookie(datagram, init, address, now)
            return
        if len(self.half_open) >= limits.MAX_HALF_OPEN or held >= limits.HALF_OPEN_PER_SOURCE:
            self.node.count("drop_half_open_full")
            return
        sid = self.links.new_sid()
        eph_secret = self.node.rng.randbytes(32)
        eph_public = crypto.public_key(eph_secret)
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
        self.half_open.add(sid, HalfOpen(session, address, expires, init.ephemeral, resp))
        self.answered.keep(init.ephemeral, now + limits.INIT_REMEMBERED_FOR)
        self.node.emit(resp, address, "resp")

    def _send_cookie(self, datagram, init, address, now):
        self.node.count("cookie_sent")
        self.node.emit(crypto.make_cookie_reply(datagram, init.sender_sid, self.cookies.cookie(address, now)),
                       address, "cookie")

    def _answered_before(self, ephemeral, now) -> bool:
        return self.answered.get(ephemeral, now) > now

    def expire_half_open(self, now):
        self.half_open.expire(now)
