"""Sessions addressed by peer identity: sealing and opening data frames, keepalives, idle expiry
and failure detection (handshakes, and the state machine of each link, are in handshakes.py).
Upper layers say "send this to that overlay key"; a session is set up on demand, and a peer's
address follows wherever its authenticated frames come from (NAT mappings change). An address is
a UDP address or a RelayPath (relay_path.py): the same end-to-end session, its datagrams carried
by a relay; a path that names one server is believed only for that server's frames."""

from __future__ import annotations

import heapq
import itertools

from nostrp2p.mesh import crypto, limits, messages as m, wire
from nostrp2p.mesh.handshakes import Handshakes, Peer
from nostrp2p.mesh.relay_path import is_relayed

LINK_CHECK_INTERVAL = 1.0  # how often the link table is swept; finer than every timeout above


class Links:
    def __init__(self, node, network_key: bytes):
        self.node = node
        self.peers: dict[bytes, Peer] = {}
        self.by_sid: dict[int, crypto.Session] = {}
        self.handshakes = Handshakes(node, self, network_key)
        self.rest_due = 0.0  # when the sweep next has quiet sessions let go of their ciphers
        # When each peer is next due a look, between the sweeps that look at them all: (when,
        # its place in ``peers``, peer), stale entries (a peer forgotten since) dropped as met.
        self._looks: list = []
        self._placed = itertools.count()  # peers in the order ``peers`` holds them

    # --- sending ---------------------------------------------------------------------------
    def send(self, overlay_key: bytes, address, message: m.Message, now: float) -> None:
        """Send an inner message to the server with overlay key ``overlay_key`` (last known at
        ``address``), handshaking first if there is no session."""
        peer = self.peers.get(overlay_key)
        if is_relayed(peer.address if peer is not None else address) and \
                not isinstance(message, m.RELAYABLE):
            self.node.count("drop_out_not_relayable")
            return
        if peer is None:
            if address is None:
                self.node.count("drop_out_no_address")
                return
            if not self._room_for_peer(now):
                self.node.count("drop_out_session_table_full")
                return
            peer = self._add_peer(overlay_key, None, address, now)
        session = peer.current
        if session is not None and not session.expired(now):
            self._seal_and_send(peer, session, message, now)
            return
        peer.queue(message)
        if peer.handshake is None:
            self.handshakes.initiate(peer.address, overlay_key, now)

    def has_session(self, overlay_key: bytes) -> bool:
        """Whether we hold a session with ``overlay_key`` on a direct path (one through a relay
        is what relaying is for, not a reason to stop)."""
        peer = self.peers.get(overlay_key)
        return peer is not None and peer.current is not None and not is_relayed(peer.address)

    def reaching(self, overlay_key: bytes) -> bool:
        """Whether our handshake with ``overlay_key`` is out and no session (of any path) is
        held: we are trying to reach it and it has not answered yet."""
        peer = self.peers.get(overlay_key)
        return peer is not None and peer.current is None and peer.handshake is not None

    def heard_from(self, overlay_key: bytes):
        """(when the last authenticated datagram from ``overlay_key`` arrived, when our current
        session with it was made), or None when we hold no session with it. Upper layers take a
        peer's liveness from this rather than keeping a record of their own; the session's
        age tells them whether the peer may have restarted since it last told them something."""
        peer = self.peers.get(overlay_key)
        if peer is None or peer.current is None:
            return None
        return peer.last_recv, peer.current.created

    def address_of(self, overlay_key: bytes):
        """Where we send to ``overlay_key`` now (a UDP address or a RelayPath), or None."""
        peer = self.peers.get(overlay_key)
        return peer.address if peer is not None else None

    def far_end_is(self, address, overlay_key: bytes) -> bool:
        """False (and counted) when ``address`` is a relay path naming another server than the
        one whose key a handshake or session proves: a relay forged the origin."""
        if is_relayed(address) and address.far != overlay_key:
            self.node.count("drop_relayed_origin_forged")
            return False
        return True

    def leave_relay(self, overlay_key: bytes) -> None:
        """Another relay was chosen for ``overlay_key``: what we hold with it through the last
        one is forgotten, so the next message handshakes again through the new one (the far
        end may have lost the session, which is why that relay did not get through)."""
        peer = self.peers.get(overlay_key)
        if peer is not None and (peer.current is None or is_relayed(peer.address)):
            self.forget(overlay_key)

    def punch(self, overlay_key: bytes, address, now: float) -> bool:
        """Handshake with ``overlay_key`` at ``address`` to open our NAT towards it while the other
        side does the same towards us; the first authenticated packet through makes the session.
        Nothing is queued on it, and if it goes unanswered nothing fails: a relay carries the
        messages meanwhile."""
        peer = self.peers.get(overlay_key)
        if peer is not None and (peer.handshake is not None or self.has_session(overlay_key)):
            return False
        if peer is None:
            if not self._room_for_peer(now):
                self.node.count("drop_out_session_table_full")
                return False
            peer = self._add_peer(overlay_key, None, address, now)
        if peer.current is None:
            peer.address = address
        # (A session through a relay keeps its path until the punched one proves itself.)
        hs = self.handshakes.initiate(address, overlay_key, now)
        if hs is None:
            return False
        hs.punch = True
        return True

    def send_to_address(self, address, message: m.Message, now: float) -> None:
        """Reach a server known only by address (a bootstrap peer)."""
        hs = self.handshakes.initiate(address, None, now)
        if hs is not None:
            hs.queue(message)

    def _seal_and_send(self, peer, session, message, now):
        datagram = session.seal(wire.pack(message.encode()))
        if len(datagram) > limits.MAX_DATAGRAM:
            self.node.count("drop_out_oversize")
            return
        peer.last_sent = now
        self.node.emit(datagram, peer.address, message.TYPE)

    def flush(self, peer, messages, now) -> None:
        """Send what waited for a session with ``peer`` (it has one now)."""
        for message in messages:
            self._seal_and_send(peer, peer.current, message, now)

    def new_sid(self) -> int:
        while True:
            sid = self.node.rng.getrandbits(32)
            if sid and sid not in self.by_sid and not self.handshakes.taken(sid):
                return sid

    def _room_for_peer(self, now) -> bool:
        if len(self.peers) < limits.MAX_SESSIONS:
            return True
        # Make room by closing the longest-idle session that the views do not need.
        idle = [p for p in self.peers.values()
                if not self.node.needs_peer(p.overlay_key) and p.handshake is None]
        if not idle:
            return False
        victim = min(idle, key=lambda p: max(p.last_recv, p.last_sent))
        self.forget(victim.overlay_key)
        return True

    # --- receiving -------------------------------------------------------------------------
    def receive(self, datagram: bytes, address, now: float) -> None:
        kind = datagram[1]
        if kind == wire.FRAME_DATA:
            self._receive_data(datagram, address, now)
        elif kind == wire.FRAME_INIT:
            self.handshakes.receive_init(datagram, address, now)
        elif kind == wire.FRAME_RESP:
            self.handshakes.receive_resp(datagram, address, now)
        elif kind == wire.FRAME_COOKIE:
            self.handshakes.receive_cookie(datagram, address, now)
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
            half = self.handshakes.half_open.get(sid)
            if half is None:
                self.node.count("drop_unknown_session")
                return
            session = half.session
        if not self.far_end_is(address, session.peer_overlay_key):
            return
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
            self.handshakes.half_open.pop(sid)
            session.confirmed = True
            if self.install(session, address, now) is None:
                return
        peer = self.peers.get(session.peer_overlay_key)
        if peer is None:
            self.node.count("drop_unknown_session")
            return
        peer.last_recv = now
        session.last_recv = now
        # A late frame of an older session through a relay does not take a peer off the direct
        # path it has moved to; anything else moves it (NAT mappings change, paths fail over).
        if peer.address != address and (session is peer.current or not is_relayed(address)):
            peer.address = address
            self.node.count("peer_address_changed")
            self.node.path_changed(peer, now)
        self.node.receive_message(peer, plaintext, now)

    def install(self, session, address, now):
        """Make ``session`` (just proved) the current one of its peer; the peer, or None when
        there is no room for one."""
        peer = self.peers.get(session.peer_overlay_key)
        if peer is None:
            if not self._room_for_peer(now):
                self.node.count("drop_session_table_full")
                return None
            peer = self._add_peer(session.peer_overlay_key, session.peer_owner, address, now)
        peer.owner = session.peer_owner
        peer.address = address
        if peer.previous is not None:
            self.by_sid.pop(peer.previous.local_sid, None)
        peer.install(session)
        self.by_sid[session.local_sid] = session
        peer.last_recv = now
        self.node.peer_connected(peer, now)
        return peer

    # --- upkeep ----------------------------------------------------------------------------
    def _add_peer(self, overlay_key, owner, address, now) -> Peer:
        peer = self.peers[overlay_key] = Peer(overlay_key, owner, address, now)
        peer.placed = next(self._placed)
        heapq.heappush(self._looks, (self._next_look(peer), peer.placed, peer))
        return peer

    def forget(self, overlay_key: bytes) -> None:
        peer = self.peers.pop(overlay_key, None)
        if peer is None:
            return
        for session in (peer.current, peer.previous):
            if session is not None:
                self.by_sid.pop(session.local_sid, None)
        if peer.handshake is not None:
            self.handshakes.out.pop(peer.handshake.sid, None)

    def close(self, overlay_key: bytes, now: float) -> None:
        """Tell the peer we are closing the session, then forget it."""
        peer = self.peers.get(overlay_key)
        if peer is not None and peer.current is not None:
            self._seal_and_send(peer, peer.current, m.Close(), now)
        self.forget(overlay_key)

    def sweep(self, now: float) -> None:
        self.handshakes.expire_half_open(now)
        # Quiet sessions let go of their ciphers every SESSION_CIPHER_IDLE, not every sweep:
        # looking at every peer each second for it cost 4% of a simulated server's CPU. That
        # sweep looks at every peer; the others look at the peers the views keep up and at
        # those due (``_next_look``), in the same order: what every peer was looked at for
        # each second was a third of the CPU of 10,000 simulated servers (docs/SCALING.md).
        rest = now >= self.rest_due
        if rest:
            self.rest_due = now + limits.SESSION_CIPHER_IDLE
            looked = [(peer, True) for peer in self.peers.values()]
            self._looks = []
        else:
            looked = self._due(now)
        for peer, taken in looked:
            if rest:
                peer.rest(now)
            self._look(peer, now)
            if taken and self.peers.get(peer.overlay_key) is peer:
                heapq.heappush(self._looks, (self._next_look(peer), peer.placed, peer))

    def _due(self, now) -> list:
        """[(peer, taken from the heap)]: those due a look, and the peers the views keep up
        (their entries stay in the heap), in the order of ``peers``."""
        due = {}
        looks = self._looks
        while looks and looks[0][0] <= now:
            _, placed, peer = heapq.heappop(looks)
            if self.peers.get(peer.overlay_key) is peer:
                due[placed] = (peer, True)
        for overlay_key in self.node.needed_peers():
            peer = self.peers.get(overlay_key)
            if peer is not None and peer.placed not in due:
                due[peer.placed] = (peer, False)
        return [due[placed] for placed in sorted(due)]

    @staticmethod
    def _next_look(peer) -> float:
        """The first time a peer the views do not keep up can be due for anything at a look:
        its session too old, or itself quiet too long. What happens to it meanwhile only moves
        both later (a new session, a datagram either way), so a look before then would find
        nothing to do. (A session that reaches REKEY_AFTER_MESSAGES first is replaced at its
        next send, and let go at the next look at every peer.) Past due, with a handshake under
        way, it is looked at each sweep until that is over."""
        when = max(peer.last_recv, peer.last_sent) + limits.IDLE_SESSION_TIMEOUT
        if peer.current is not None:
            when = min(when, peer.current.created + limits.SESSION_MAX_AGE)
        return when

    def _look(self, peer, now) -> None:
        session = peer.current
        needed = self.node.needs_peer(peer.overlay_key)
        if session is not None and session.expired(now):
            self.forget(peer.overlay_key)
            if needed:
                self.node.peer_failed(peer.overlay_key, now)
            return
        if needed:
            if now - peer.last_recv > limits.PEER_TIMEOUT:
                self.node.count("peer_timed_out")
                self.forget(peer.overlay_key)
                self.node.peer_failed(peer.overlay_key, now)
                return
            if session is not None and not is_relayed(peer.address):
                # (A neighbour whose path moved onto a relay gets no keepalives there: it
                # times out and membership finds a neighbour it can reach.)
                if now - peer.last_sent >= limits.KEEPALIVE_INTERVAL:
                    self._seal_and_send(peer, session, m.Ping(), now)
                if (session.initiator and now - session.created > limits.REKEY_AFTER
                        and peer.handshake is None):
                    self.handshakes.initiate(peer.address, peer.overlay_key, now)
        elif peer.handshake is None and \
                peer.quiet_for(now) > limits.IDLE_SESSION_TIMEOUT:
            self.forget(peer.overlay_key)
