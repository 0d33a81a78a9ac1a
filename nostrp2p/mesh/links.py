"""Sessions addressed by peer identity: handshakes, sealing and opening data frames, keepalives,
idle expiry and failure detection. Upper layers say "send this to that overlay key"; a session is
set up on demand, and a peer's address follows wherever its authenticated frames come from (NAT
mappings change)."""

from __future__ import annotations

import collections

from nostrp2p.mesh import crypto, limits, messages as m, wire
from nostrp2p.mesh.wire import MalformedFrame

LINK_CHECK_INTERVAL = 1.0  # how often the link table is swept; finer than every timeout above


class Peer:
    __slots__ = ("static", "owner", "address", "current", "previous", "pending", "handshake",
                 "last_sent", "last_recv")

    def __init__(self, static, owner, address, now):
        self.static = static
        self.owner = owner
        self.address = address
        self.current = None
        self.previous = None
        self.pending = collections.deque(maxlen=limits.MAX_PENDING_PER_PEER)
        self.handshake = None
        self.last_sent = now
        self.last_recv = now


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


class Links:
    def __init__(self, node, network_key: bytes):
        self.node = node
        self.net_key = network_key
        self.peers: dict[bytes, Peer] = {}
        self.by_sid: dict[int, crypto.Session] = {}
        self.handshakes: dict[int, Handshake] = {}
        self.half_open: dict[int, HalfOpen] = {}

    # --- sending ---------------------------------------------------------------------------
    def send(self, static: bytes, address, message: m.Message, now: float) -> None:
        """Send an inner message to the server with overlay key ``static`` (last known at
        ``address``), handshaking first if there is no session."""
        peer = self.peers.get(static)
        if peer is None:
            if address is None:
                self.node.count("drop_out_no_address")
                return
            if not self._room_for_peer(now):
                self.node.count("drop_out_session_table_full")
                return
            peer = self.peers[static] = Peer(static, None, address, now)
        session = peer.current
        if session is not None and not session.expired(now):
            self._seal_and_send(peer, session, message, now)
            return
        peer.pending.append(message)
        if peer.handshake is None:
            self._initiate(peer.address, static, now)

    def has_session(self, static: bytes) -> bool:
        peer = self.peers.get(static)
        return peer is not None and peer.current is not None

    def punch(self, static: bytes, address, now: float) -> bool:
        """Handshake with ``static`` at ``address`` to open our NAT towards it while the other
        side does the same towards us; the first authenticated packet through makes the session.
        Nothing is queued on it, and if it goes unanswered nothing fails: a relay carries the
        messages meanwhile."""
        peer = self.peers.get(static)
        if peer is not None and (peer.current is not None or peer.handshake is not None):
            return False
        if peer is None:
            if not self._room_for_peer(now):
                self.node.count("drop_out_session_table_full")
                return False
            peer = self.peers[static] = Peer(static, None, address, now)
        peer.address = address
        hs = self._initiate(address, static, now)
        if hs is None:
            return False
        hs.punch = True
        return True

    def send_to_address(self, address, message: m.Message, now: float) -> None:
        """Reach a server known only by address (a bootstrap peer)."""
        hs = self._initiate(address, None, now)
        if hs is not None:
            hs.pending.append(message)

    def _seal_and_send(self, peer, session, message, now):
        datagram = session.seal(wire.pack(message.encode()))
        if len(datagram) > limits.MAX_DATAGRAM:
            self.node.count("drop_out_oversize")
            return
        peer.last_sent = now
        self.node.emit(datagram, peer.address, message.TYPE)

    def _initiate(self, address, expected, now):
        if len(self.handshakes) >= limits.MAX_HALF_OPEN:
            self.node.count("drop_out_handshake_table_full")
            return None
        sid = self._new_sid()
        eph_secret = self.node.rng.randbytes(32)
        eph_public = crypto.bindings.crypto_scalarmult_base(eph_secret)
        ident = self.node.identity
        init = crypto.make_init(self.net_key, eph_public, ident.public_key, ident.owner_key, sid)
        hs = Handshake(sid, eph_secret, init, address, expected)
        self.handshakes[sid] = hs
        if expected is not None:
            self.peers[expected].handshake = hs
        self.node.emit(init, address, "init")
        self.node.timers.call_at(now + limits.HANDSHAKE_TIMEOUT, self._handshake_timer, sid)
        return hs

    def _handshake_timer(self, now, sid):
        hs = self.handshakes.get(sid)
        if hs is None:
            return
        if hs.attempts >= limits.HANDSHAKE_ATTEMPTS:
            del self.handshakes[sid]
            if hs.punch:
                self.node.count("punch_timed_out")
                peer = self.peers.get(hs.expected)
                if peer is not None and peer.handshake is hs:
                    peer.handshake = None
                    if peer.current is None:
                        self.forget(hs.expected)
                return
            self.node.count("handshake_failed")
            if hs.expected is not None:
                peer = self.peers.get(hs.expected)
                if peer is not None and peer.handshake is hs:
                    peer.handshake = None
                    if peer.current is not None:
                        # A rekey went unanswered: the session still works until
                        # SESSION_MAX_AGE, and keepalives decide whether the peer is alive.
                        return
                    self.forget(hs.expected)
                self.node.peer_unreachable(hs.expected, now)
            else:
                self.node.address_unreachable(hs.address, now)
            return
        hs.attempts += 1
        self.node.emit(hs.init, hs.address, "init")
        self.node.timers.call_at(now + limits.HANDSHAKE_TIMEOUT, self._handshake_timer, sid)

    def _new_sid(self) -> int:
        while True:
            sid = self.node.rng.getrandbits(32)
            if sid and sid not in self.by_sid and sid not in self.handshakes and sid not in self.half_open:
                return sid

    def _room_for_peer(self, now) -> bool:
        if len(self.peers) < limits.MAX_SESSIONS:
            return True
        # Make room by closing the longest-idle session that the views do not need.
        idle = [p for p in self.peers.values() if not self.node.needs_peer(p.static) and p.handshake is None]
        if not idle:
            return False
        victim = min(idle, key=lambda p: max(p.last_recv, p.last_sent))
        self.forget(victim.static)
        return True

    # --- receiving -------------------------------------------------------------------------
    def receive(self, datagram: bytes, address, now: float) -> None:
        kind = datagram[1]
        if kind == wire.FRAME_DATA:
            self._receive_data(datagram, address, now)
        elif kind == wire.FRAME_INIT:
            self._receive_init(datagram, address, now)
        elif kind == wire.FRAME_RESP:
            self._receive_resp(datagram, address, now)
        else:
            self.node.count("drop_unknown_frame")

    def _receive_data(self, datagram, address, now):
        if len(datagram) < wire.DATA_HEADER_SIZE + wire.TAG_SIZE:
            self.node.count("drop_malformed")
            return
        sid = wire.DATA_HEADER.unpack_from(datagram)[2]
        session = self.by_sid.get(sid)
        half = None
        if session is None:
            half = self.half_open.get(sid)
            if half is None:
                self.node.count("drop_unknown_session")
                return
            session = half.session
        if session.expired(now):
            self.node.count("drop_expired_session")
            return
        try:
            plaintext = session.open(datagram)
        except crypto.Replayed:
            self.node.count("drop_replayed")
            return
        except crypto.BadMac:
            self.node.count("drop_undecryptable")
            return
        if half is not None:
            # The initiator has proved itself: the session becomes the peer's current one.
            del self.half_open[sid]
            session.confirmed = True
            if self._install(session, address, now) is None:
                return
        peer = self.peers.get(session.peer_static)
        if peer is None:
            self.node.count("drop_unknown_session")
            return
        peer.last_recv = now
        session.last_recv = now
        if peer.address != address:
            peer.address = address
            self.node.count("peer_address_changed")
        self.node.receive_message(peer, plaintext, now)

    def _receive_init(self, datagram, address, now):
        try:
            init = crypto.parse_init(self.net_key, datagram)
        except crypto.BadMac:
            self.node.count("drop_bad_handshake_mac")
            return
        except MalformedFrame:
            self.node.count("drop_malformed")
            return
        ident = self.node.identity
        if init.static == ident.public_key:
            self.node.count("drop_self_handshake")
            return
        for half in self.half_open.values():
            if half.init_raw == init.raw:  # a retransmitted INIT: same answer
                self.node.emit(half.resp, address, "resp")
                return
        self._expire_half_open(now)
        if len(self.half_open) >= limits.MAX_HALF_OPEN:
            self.node.count("drop_half_open_full")
            return
        sid = self._new_sid()
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
        session = crypto.Session(sid, init.sender_sid, init.static, init.owner, send_key, recv_key, now, False)
        expires = now + limits.HANDSHAKE_TIMEOUT * (limits.HANDSHAKE_ATTEMPTS + 1)
        self.half_open[sid] = HalfOpen(session, address, expires, init.raw, resp)
        self.node.emit(resp, address, "resp")

    def _expire_half_open(self, now):
        for sid in [sid for sid, h in self.half_open.items() if h.expires <= now]:
            del self.half_open[sid]

    def _receive_resp(self, datagram, address, now):
        try:
            resp = crypto.parse_resp(datagram)
        except MalformedFrame:
            self.node.count("drop_malformed")
            return
        hs = self.handshakes.get(resp.receiver_sid)
        if hs is None:
            self.node.count("drop_unknown_handshake")
            return
        try:
            send_key, recv_key = crypto.complete(self.net_key, self.node.identity.private_key, hs.eph_secret, hs.init, resp)
        except crypto.BadMac:
            self.node.count("drop_bad_handshake_mac")
            return
        except MalformedFrame:
            self.node.count("drop_malformed")
            return
        del self.handshakes[hs.sid]
        if resp.static == self.node.identity.public_key:
            self.node.count("drop_self_handshake")
            return
        session = crypto.Session(hs.sid, resp.sender_sid, resp.static, resp.owner, send_key, recv_key, now, True)
        if hs.expected is not None and hs.expected != resp.static:
            # Someone else answers at that address now: the peer we wanted is gone from there.
            old = self.peers.get(hs.expected)
            if old is not None and old.handshake is hs:
                old.handshake = None
                self.forget(hs.expected)
            if not hs.punch:
                self.node.peer_unreachable(hs.expected, now)
        peer = self._install(session, address, now)
        if peer is None:
            return
        queued = list(hs.pending)
        if peer.handshake is hs:
            peer.handshake = None
        queued.extend(peer.pending)
        peer.pending.clear()
        if not queued:
            queued = [m.Ping()]  # proves us to the responder at once
        for message in queued:
            self._seal_and_send(peer, session, message, now)

    def _install(self, session, address, now):
        peer = self.peers.get(session.peer_static)
        if peer is None:
            if not self._room_for_peer(now):
                self.node.count("drop_session_table_full")
                return None
            peer = self.peers[session.peer_static] = Peer(session.peer_static, session.peer_owner, address, now)
        peer.owner = session.peer_owner
        peer.address = address
        if peer.previous is not None:
            self.by_sid.pop(peer.previous.local_sid, None)
        peer.previous = peer.current
        peer.current = session
        self.by_sid[session.local_sid] = session
        peer.last_recv = now
        self.node.peer_connected(peer, now)
        return peer

    # --- upkeep ----------------------------------------------------------------------------
    def forget(self, static: bytes) -> None:
        peer = self.peers.pop(static, None)
        if peer is None:
            return
        for session in (peer.current, peer.previous):
            if session is not None:
                self.by_sid.pop(session.local_sid, None)
        if peer.handshake is not None:
            self.handshakes.pop(peer.handshake.sid, None)

    def close(self, static: bytes, now: float) -> None:
        """Tell the peer we are closing the session, then forget it."""
        peer = self.peers.get(static)
        if peer is not None and peer.current is not None:
            self._seal_and_send(peer, peer.current, m.Close(), now)
        self.forget(static)

    def sweep(self, now: float) -> None:
        self._expire_half_open(now)
        for peer in list(self.peers.values()):
            session = peer.current
            needed = self.node.needs_peer(peer.static)
            if session is not None and session.expired(now):
                self.forget(peer.static)
                if needed:
                    self.node.peer_failed(peer.static, now)
                continue
            if needed:
                if now - peer.last_recv > limits.PEER_TIMEOUT:
                    self.node.count("peer_timed_out")
                    self.forget(peer.static)
                    self.node.peer_failed(peer.static, now)
                    continue
                if session is not None:
                    if now - peer.last_sent >= limits.KEEPALIVE_INTERVAL:
                        self._seal_and_send(peer, session, m.Ping(), now)
                    if (session.initiator and now - session.created > limits.REKEY_AFTER
                            and peer.handshake is None):
                        self._initiate(peer.address, peer.static, now)
            elif peer.handshake is None and now - max(peer.last_recv, peer.last_sent) > limits.IDLE_SESSION_TIMEOUT:
                self.forget(peer.static)
