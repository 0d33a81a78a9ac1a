"""Sending one unicast message reliably (ARQ): cut into fragments, at most SEND_WINDOW of them
unacknowledged at once, each retransmitted on an RFC 6298 timer (``RoundTrip``, per
destination) until acknowledged or MAX_RETRANSMISSIONS. This is where a fragment is
retransmitted (``Sender._retransmit``). When direct contact fails the message moves on to a
relay that Reachability chooses, and a relay that refuses is left at once."""

from __future__ import annotations

import collections

from nostrp2p.bounded import RecentTable
from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.errors import TimedOut, Unreachable
from nostrp2p.mesh.relay_path import is_relayed


class RoundTrip:
    """RFC 6298 retransmission timeout for one peer."""

    __slots__ = ("srtt", "rttvar", "rto")

    def __init__(self):
        self.srtt = None
        self.rttvar = None
        self.rto = limits.RTO_INITIAL

    def sample(self, rtt: float) -> None:
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        self.rto = min(limits.RTO_MAX, max(limits.RTO_MIN, self.srtt + 4 * self.rttvar))

    def back_off(self) -> None:
        self.rto = min(limits.RTO_MAX, self.rto * 2)


class RoundTrips:
    """The RoundTrip of each destination (the most recently used kept): the retransmission
    timeouts here, and how long broadcast waits for an eager copy (graft_timeout.py)."""

    def __init__(self):
        self._table = RecentTable(limits.MAX_SESSIONS * 4)

    def of(self, overlay_key) -> RoundTrip:
        rt = self._table.lookup(overlay_key)
        if rt is None:
            rt = RoundTrip()
            self._table.keep(overlay_key, rt)
        return rt

    def measured(self, overlay_key) -> RoundTrip | None:
        """Its RoundTrip if one was kept (nothing is made or reordered)."""
        return self._table.get(overlay_key)


class Outgoing:
    __slots__ = ("mid", "overlay_key", "address", "kind", "ref", "fragments", "acked", "sent_at",
                 "tries", "next_index", "done", "timer_at", "timer", "started", "checked")

    def __init__(self, mid, overlay_key, address, kind, ref, payload, done, now):
        self.mid = mid
        self.overlay_key = overlay_key
        self.address = address
        self.kind = kind
        self.ref = ref
        size = limits.FRAGMENT_SIZE
        self.fragments = [payload[i:i + size] for i in range(0, len(payload), size)] or [b""]
        self.acked: set[int] = set()
        self.sent_at: dict[int, float] = {}  # unacknowledged fragments in flight -> last sent
        self.tries: dict[int, int] = {}
        self.next_index = 0
        self.done = done
        self.timer_at = None  # when the retransmission timer fires next
        self.timer = None  # its call (a later one is cancelled when an earlier one is armed)
        self.started = now  # when its first fragment went
        self.checked = False  # whether the session was looked at, REHANDSHAKE_UNANSWERED after


class Sender:
    def __init__(self, node, links, reachability, round_trips):
        self.node = node  # the core: send, timers, counters, whether a peer is a neighbour
        self.links = links
        self.reachability = reachability
        self.outgoing: dict[bytes, Outgoing] = {}
        self.per_peer = collections.Counter()
        self.round_trips = round_trips
        node.handle(m.FragmentAck, self._on_ack)

    def start(self, mid, overlay_key, address, kind, ref, payload, now, done) -> None:
        """Send ``payload`` to ``overlay_key`` as message ``mid``; ``done(error, None, now)`` once
        every fragment was acknowledged, or it failed."""
        if len(self.outgoing) >= limits.MAX_OUTGOING_MESSAGES or \
                self.per_peer[overlay_key] >= limits.MAX_OUTGOING_PER_PEER:
            self.node.count("drop_out_unicast_full")
            done(Unreachable("too many messages being sent already"), None, now)
            return
        out = Outgoing(mid, overlay_key, address, kind, ref, payload, done, now)
        self.outgoing[mid] = out
        self.per_peer[overlay_key] += 1
        self._fill_window(out, now)
        self._arm(out, now + limits.REHANDSHAKE_UNANSWERED)

    def cancel_all(self, error, now) -> None:
        for out in list(self.outgoing.values()):
            self._finish(out, error, now)

    def _round_trip(self, overlay_key) -> RoundTrip:
        return self.round_trips.of(overlay_key)

    def _fill_window(self, out, now):
        while len(out.sent_at) < limits.SEND_WINDOW and out.next_index < len(out.fragments):
            index = out.next_index
            out.next_index += 1
            if index not in out.acked:
                self._send_fragment(out, index, now)

    def _send_fragment(self, out, index, now):
        out.sent_at[index] = now
        out.tries[index] = out.tries.get(index, 0) + 1
        message = m.Fragment(out.mid, index, len(out.fragments), out.kind, out.ref,
                             out.fragments[index])
        self.node.send(out.overlay_key, out.address, message, now)
        self._arm(out, now + self._round_trip(out.overlay_key).rto)

    def _arm(self, out, when):
        if out.timer_at is None or when < out.timer_at:
            out.timer_at = when
            if out.timer is not None:
                out.timer.cancel()
            out.timer = self.node.timers.call_at(when, self._retransmit, out.mid)

    def _retransmit(self, now, mid):
        out = self.outgoing.get(mid)
        if out is None or out.timer_at is None or out.timer_at > now + 1e-9:
            return  # a stale timer: an earlier one was armed since
        out.timer_at = None
        if not out.checked and now - out.started >= limits.REHANDSHAKE_UNANSWERED - 1e-9:
            out.checked = True
            if self._stale_session(out):
                self._rehandshake(out.overlay_key)
                # Everything outstanding to it went on that session: again at once, on the
                # fresh one, not at the backed-off timeout.
                for other in self._going_to(out.overlay_key):
                    other.checked = True
                    for index in list(other.sent_at):
                        self._send_fragment(other, index, now)
                return
        rt = self._round_trip(out.overlay_key)
        moved_on = False
        for index, sent in list(out.sent_at.items()):
            if sent + rt.rto > now + 1e-9:
                continue
            relayed = self._relayed(out.overlay_key)
            if out.tries[index] > limits.MAX_RETRANSMISSIONS:
                if relayed:
                    error = Unreachable("not acknowledged, directly or through relays")
                else:
                    error = TimedOut(f"not acknowledged after {limits.MAX_RETRANSMISSIONS} "
                                     "retransmissions")
                self._finish(out, error, now)
                return
            self.node.count("unicast_retransmitted")
            if relayed and out.tries[index] >= limits.REHANDSHAKE_AFTER_TRIES and not moved_on:
                # That relay did not get through (it may have refused): the next one is tried,
                # once per round of retransmissions.
                moved_on = True
                self._next_relay(out.overlay_key, now)
            elif not relayed and out.tries[index] == limits.REHANDSHAKE_AFTER_TRIES and \
                    not self.node.needs_peer(out.overlay_key) and self._session_older(out):
                self._rehandshake(out.overlay_key)
            rt.back_off()
            self._send_fragment(out, index, now)
        if out.sent_at:
            self._arm(out, min(out.sent_at.values()) + rt.rto)
        if not out.checked:
            self._arm(out, out.started + limits.REHANDSHAKE_UNANSWERED)

    def _rehandshake(self, overlay_key) -> None:
        """Our session with the peer is dropped: the next datagram to it makes a fresh one."""
        self.links.forget(overlay_key)
        self.node.count("unicast_rehandshake")

    def _session_older(self, out) -> bool:
        """Whether our session with the peer was made before this message went (a fresh one,
        made for another message meanwhile, is not thrown away for this one's old tries)."""
        heard = self.links.heard_from(out.overlay_key)
        return heard is None or heard[1] <= out.started

    def _stale_session(self, out) -> bool:
        """Nothing has come from the peer on our session with it since this message first went
        (REHANDSHAKE_UNANSWERED ago): it may have restarted and lost the session, which its
        tree neighbours and others still hold. Looked at once per message, at that time, not
        after its tries: those come slower and slower as the peer's timeout backs off at each
        retransmission of each message to it (12 s to the third try in a traced case,
        docs/SCALING.md "The children of a member back at its old parent")."""
        if self._relayed(out.overlay_key) or self.node.needs_peer(out.overlay_key):
            return False  # relays are moved on by tries; neighbours are watched by keepalives
        heard = self.links.heard_from(out.overlay_key)
        if heard is None:  # no session: one is being made, or will be
            return False
        last_recv, created = heard
        return created <= out.started and last_recv < out.started

    def _on_ack(self, peer, message, now):
        mid, index = message.mid, message.index
        out = self.outgoing.get(mid)
        if out is None or out.overlay_key != peer.overlay_key or index in out.acked:
            return
        sent = out.sent_at.pop(index, None)
        out.acked.add(index)
        if sent is not None and out.tries.get(index) == 1:  # Karn: no samples from retransmissions
            self._round_trip(peer.overlay_key).sample(now - sent)
        if not is_relayed(peer.address):
            out.address = peer.address
        if len(out.acked) == len(out.fragments):
            self._finish(out, None, now)
        else:
            self._fill_window(out, now)

    def _finish(self, out, error, now):
        if self.outgoing.pop(out.mid, None) is None:
            return
        if out.timer is not None:
            out.timer.cancel()
        self.per_peer[out.overlay_key] -= 1
        if self.per_peer[out.overlay_key] <= 0:
            del self.per_peer[out.overlay_key]
        if error is None:
            self.reachability.reached(out.overlay_key)
            self.node.count("unicast_acknowledged")
        else:
            self.node.count("unicast_failed")
        out.done(error, None, now)

    # --- when a way fails -------------------------------------------------------------------------
    def relay_refused(self, overlay_key, now) -> None:
        """The relay we sent through to ``overlay_key`` refused to carry it: what is on its way
        there goes through the next relay at once, and that refused send is not counted as a
        try (it was answered, not lost). A destination we are not sending to keeps the next
        relay for the acknowledgements we owe it."""
        going = self._going_to(overlay_key)
        if not going:
            self._next_relay(overlay_key, now, refused=True)
            return
        for out in going:
            for index in out.sent_at:
                out.tries[index] -= 1
        self._reroute(overlay_key, going, now, refused=True)

    def peer_unreachable(self, overlay_key, now) -> None:
        """The links gave up on ``overlay_key``: what was going there goes through a relay now, or
        fails when no relay is left to try."""
        self._reroute(overlay_key, self._going_to(overlay_key), now)

    def _going_to(self, overlay_key) -> list:
        return [o for o in self.outgoing.values() if o.overlay_key == overlay_key]

    def _relayed(self, overlay_key) -> bool:
        """Whether what we send ``overlay_key`` goes through a relay (core.send)."""
        return self.reachability.relay_for(overlay_key) is not None and \
            not self.links.has_session(overlay_key)

    def _next_relay(self, overlay_key, now, refused=False) -> bool:
        """Move on to the next relay for ``overlay_key`` (the session through the last one is
        left: it may be what did not get through); False when none is left."""
        moved = self.reachability.route_around(overlay_key, now, refused)
        if moved:
            self.links.leave_relay(overlay_key)
        return moved

    def _reroute(self, overlay_key, going, now, refused=False) -> None:
        if going and self._next_relay(overlay_key, now, refused):
            # The relay carries the messages now (and introduces us: see Relay.carry).
            for out in going:
                for index in list(out.sent_at):
                    self._send_fragment(out, index, now)
            return
        self.reachability.unreachable(overlay_key)
        for out in going:
            self._finish(out, Unreachable("no session could be made with its server, "
                                          "directly or through a relay"), now)
