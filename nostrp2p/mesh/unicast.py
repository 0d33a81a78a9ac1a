"""Reliable unicast to the server of an owner key: located through the routing table, cut into
fragments that fit one datagram, each acknowledged and retransmitted on an RFC 6298 timer,
reassembled and delivered exactly once at the destination; requests wait for a reply message.

``done(error, result, now)`` callbacks report every outcome: ``error`` is None or one of
nostrp2p.mesh.errors (UnknownKey, Unreachable, TimedOut, RemoteError). A request reaches the
layer above with ``respond(reply, now, error=None)``, to be called once, now or later."""

from __future__ import annotations

import collections

from nostrp2p.bounded import RecentTable
from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.broadcast import PayloadTooLarge
from nostrp2p.mesh.errors import RemoteError, TimedOut, Unreachable, UnknownKey
from nostrp2p.mesh.messages import KIND_MESSAGE, KIND_REFUSED, KIND_REPLY, KIND_REQUEST


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


class Outgoing:
    __slots__ = ("mid", "static", "address", "kind", "ref", "fragments", "acked", "sent_at",
                 "tries", "next_index", "done", "timer_at")

    def __init__(self, mid, static, address, kind, ref, payload, done):
        self.mid = mid
        self.static = static
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


class Partial:
    __slots__ = ("count", "kind", "ref", "chunks", "size", "last")

    def __init__(self, count, kind, ref, now):
        self.count = count
        self.kind = kind
        self.ref = ref
        self.chunks: dict[int, bytes] = {}
        self.size = 0
        self.last = now


class Unicast:
    def __init__(self, node, router):
        self.node = node
        self.router = router
        self.outgoing: dict[bytes, Outgoing] = {}
        self.per_peer = collections.Counter()
        self.round_trips = RecentTable(limits.MAX_SESSIONS * 4)  # destination -> RoundTrip
        self.partials: collections.OrderedDict[tuple, Partial] = collections.OrderedDict()
        self.partial_bytes = 0
        self.delivered = RecentTable(limits.DELIVERED_IDS_MAX)  # message id -> when forgotten
        self.requests: dict[bytes, tuple] = {}  # request id -> (done, deadline)
        self.locating: dict[bytes, object] = {}  # message id -> done, while its server is looked up
        node.handle(m.Fragment, self._on_fragment)
        node.handle(m.FragmentAck, self._on_ack)

    # --- what the service calls ----------------------------------------------------------------
    def send(self, owner: bytes, payload: bytes, now: float, done) -> bytes:
        """Deliver ``payload`` to the server of ``owner``; ``done(error, None, now)`` once it
        acknowledged every fragment, or failed."""
        return self._to_owner(owner, payload, KIND_MESSAGE, None, now, done)

    def request(self, owner: bytes, payload: bytes, now: float, done, timeout=None) -> bytes:
        """Send a request; ``done(error, reply, now)`` when the reply came back or it failed."""
        self._check_size(payload)
        if len(self.requests) >= limits.MAX_PENDING_REQUESTS:
            self.node.count("drop_out_requests_full")
            done(TimedOut("too many requests waiting for replies"), None, now)
            return b""
        mid = self.node.rng.randbytes(16)
        deadline = now + (timeout if timeout is not None else limits.REQUEST_TIMEOUT)
        self.requests[mid] = (done, deadline)
        self.node.timers.call_at(deadline, self._request_timer, mid)

        def sent(error, _, now):
            if error is not None:
                self._answer_request(mid, error, None, now)

        self._to_owner(owner, payload, KIND_REQUEST, None, now, sent, mid=mid)
        return mid

    def cancel_all(self, now: float) -> None:
        """The service stops: every pending outcome fails now rather than never."""
        for mid in list(self.requests):
            self._answer_request(mid, Unreachable("the overlay stopped"), None, now)
        for out in list(self.outgoing.values()):
            self._finish(out, Unreachable("the overlay stopped"), now)
        locating, self.locating = self.locating, {}
        for done in locating.values():
            done(Unreachable("the overlay stopped"), None, now)

    @staticmethod
    def _check_size(payload: bytes) -> None:
        if len(payload) > limits.MAX_UNICAST_PAYLOAD:
            raise PayloadTooLarge(f"{len(payload)} bytes, over the limit of {limits.MAX_UNICAST_PAYLOAD}")

    # --- sending -------------------------------------------------------------------------------
    def _to_owner(self, owner, payload, kind, ref, now, done, mid=None) -> bytes:
        self._check_size(payload)
        mid = mid or self.node.rng.randbytes(16)
        if owner == self.node.identity.owner_key:
            self._deliver_local(mid, payload, kind, now, done)
            return mid
        if len(self.locating) >= limits.MAX_OUTGOING_MESSAGES:
            self.node.count("drop_out_unicast_full")
            done(Unreachable("too many messages waiting for their server to be found"), None, now)
            return mid
        self.locating[mid] = done

        def located(desc, now, last_try=False):
            if self.locating.get(mid) is not done:
                return  # the overlay stopped meanwhile and said so
            if desc is not None or last_try:
                del self.locating[mid]
            if desc is not None:
                self.node.relay.note_owner(desc.static, desc.owner)
                self._start(mid, desc.static, desc.address, kind, ref, payload, now, done)
            elif last_try:
                done(UnknownKey(f"no server of {owner.hex()[:16]}... found in the overlay"), None, now)
            else:
                self.node.timers.call_at(now + limits.LOOKUP_RETRY_DELAY, look_again)

        def look_again(now):
            self.router.locate(owner, now, lambda desc, now: located(desc, now, last_try=True))

        self.router.locate(owner, now, located)
        return mid

    def _deliver_local(self, mid, payload, kind, now, done):
        own = self.node.identity.owner_key
        if kind == KIND_REQUEST:
            done(None, None, now)

            def respond(reply, when, error=None):
                self._answer_request(mid, RemoteError(error) if error else None, reply, when)

            self.node.unicast_request(payload, own, respond)
        else:
            self.node.unicast_message(payload, own)
            done(None, None, now)

    def _start(self, mid, static, address, kind, ref, payload, now, done):
        if len(self.outgoing) >= limits.MAX_OUTGOING_MESSAGES or \
                self.per_peer[static] >= limits.MAX_OUTGOING_PER_PEER:
            self.node.count("drop_out_unicast_full")
            done(Unreachable("too many messages being sent already"), None, now)
            return
        out = Outgoing(mid, static, address, kind, ref, payload, done)
        self.outgoing[mid] = out
        self.per_peer[static] += 1
        self._fill_window(out, now)

    def _round_trip(self, static) -> RoundTrip:
        rt = self.round_trips.lookup(static)
        if rt is None:
            rt = RoundTrip()
            self.round_trips.keep(static, rt)
        return rt

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
        self.node.send(out.static, out.address, message, now)
        self._arm(out, now + self._round_trip(out.static).rto)

    def _arm(self, out, when):
        if out.timer_at is None or when < out.timer_at:
            out.timer_at = when
            self.node.timers.call_at(when, self._retransmit, out.mid)

    def _retransmit(self, now, mid):
        out = self.outgoing.get(mid)
        if out is None or out.timer_at is None or out.timer_at > now + 1e-9:
            return  # a stale timer: an earlier one was armed since
        out.timer_at = None
        rt = self._round_trip(out.static)
        moved_on = False
        for index, sent in list(out.sent_at.items()):
            if sent + rt.rto > now + 1e-9:
                continue
            if out.tries[index] > limits.MAX_RETRANSMISSIONS:
                if out.static in self.node.relay.routes:
                    error = Unreachable("not acknowledged, directly or through relays")
                else:
                    error = TimedOut(f"not acknowledged after {limits.MAX_RETRANSMISSIONS} "
                                     "retransmissions")
                self._finish(out, error, now)
                return
            self.node.count("unicast_retransmitted")
            relayed = out.static in self.node.relay.routes
            if relayed and out.tries[index] >= limits.REHANDSHAKE_AFTER_TRIES and not moved_on:
                # That relay did not get through (it may have refused): the next one is tried,
                # once per round of retransmissions.
                moved_on = True
                self.node.relay.route_around(out.static, now)
            elif not relayed and out.tries[index] == limits.REHANDSHAKE_AFTER_TRIES and \
                    not self.node.needs_peer(out.static):
                self.node.links.forget(out.static)
                self.node.count("unicast_rehandshake")
            rt.back_off()
            self._send_fragment(out, index, now)
        if out.sent_at:
            self._arm(out, min(out.sent_at.values()) + rt.rto)

    def _on_ack(self, peer, message, now):
        mid, index = message.mid, message.index
        out = self.outgoing.get(mid)
        if out is None or out.static != peer.static or index in out.acked:
            return
        sent = out.sent_at.pop(index, None)
        out.acked.add(index)
        if sent is not None and out.tries.get(index) == 1:  # Karn: no samples from retransmissions
            self._round_trip(peer.static).sample(now - sent)
        if peer.address is not None:
            out.address = peer.address
        if len(out.acked) == len(out.fragments):
            self._finish(out, None, now)
        else:
            self._fill_window(out, now)

    def _finish(self, out, error, now):
        if self.outgoing.pop(out.mid, None) is None:
            return
        self.per_peer[out.static] -= 1
        if self.per_peer[out.static] <= 0:
            del self.per_peer[out.static]
        if error is None:
            self.node.relay.reached(out.static)
            self.node.count("unicast_acknowledged")
        else:
            self.node.count("unicast_failed")
        out.done(error, None, now)

    def relay_refused(self, static, now) -> None:
        """The relay we sent through to ``static`` refused to carry it: what is on its way
        there goes through the next relay at once, and that refused send is not counted as a
        try (it was answered, not lost). A destination we are not sending to keeps the next
        relay for the acknowledgements we owe it."""
        going = self._going_to(static)
        if not going:
            self.node.relay.route_around(static, now)
            return
        for out in going:
            for index in out.sent_at:
                out.tries[index] -= 1
        self._reroute(static, going, now)

    def peer_unreachable(self, static, now) -> None:
        """The links gave up on ``static``: what was going there goes through a relay now, or
        fails when no relay is left to try."""
        self._reroute(static, self._going_to(static), now)

    def _going_to(self, static) -> list:
        return [o for o in self.outgoing.values() if o.static == static]

    def _reroute(self, static, going, now) -> None:
        if going and self.node.relay.route_around(static, now):
            # The relay carries the messages now (and introduces us: see Relay.send_via).
            for out in going:
                for index in list(out.sent_at):
                    self._send_fragment(out, index, now)
            return
        self.router.forget(static)
        for out in going:
            self._finish(out, Unreachable("no session could be made with its server, "
                                          "directly or through a relay"), now)

    # --- receiving -----------------------------------------------------------------------------
    def _on_fragment(self, peer, message, now):
        mid, index, count, kind, ref, chunk = (message.mid, message.index, message.count,
                                               message.kind, message.ref, message.chunk)
        self.node.relay.answer(peer, m.FragmentAck(mid, index), now)
        self._expire(now)
        if mid in self.delivered:
            self.node.count("unicast_duplicate")
            return
        key = (peer.static, mid)
        partial = self.partials.get(key)
        if partial is None:
            partial = self.partials[key] = Partial(count, kind, ref, now)
            self.node.timers.call_at(now + limits.REASSEMBLY_TIMEOUT, self._reassembly_timer, key)
        elif (partial.count, partial.kind, partial.ref) != (count, kind, ref):
            raise m.MalformedFrame("fragments of one message disagree")
        if index not in partial.chunks:
            partial.chunks[index] = chunk
            partial.size += len(chunk)
            partial.last = now
            self.partial_bytes += len(chunk)
            self._bound_partials(key)
        if len(partial.chunks) == partial.count and key in self.partials:
            del self.partials[key]
            self.partial_bytes -= partial.size
            payload = b"".join(partial.chunks[i] for i in range(partial.count))
            self.delivered.keep(mid, now + limits.DELIVERED_IDS_TTL)
            self._deliver(peer, mid, partial, payload, now)

    def _bound_partials(self, keep):
        while (len(self.partials) > limits.MAX_REASSEMBLY_MESSAGES
               or self.partial_bytes > limits.MAX_REASSEMBLY_BYTES):
            key = next(k for k in self.partials if k != keep) if len(self.partials) > 1 else keep
            dropped = self.partials.pop(key)
            self.partial_bytes -= dropped.size
            self.node.count("drop_reassembly_full")
            if key == keep:
                return

    def _reassembly_timer(self, now, key):
        partial = self.partials.get(key)
        if partial is None:
            return
        if now - partial.last >= limits.REASSEMBLY_TIMEOUT:
            del self.partials[key]
            self.partial_bytes -= partial.size
            self.node.count("drop_reassembly_timeout")
        else:
            self.node.timers.call_at(partial.last + limits.REASSEMBLY_TIMEOUT, self._reassembly_timer, key)

    def _expire(self, now):
        while self.delivered:
            mid, expires = self.delivered.oldest()
            if expires > now:
                return
            del self.delivered[mid]

    def _deliver(self, peer, mid, partial, payload, now):
        self.node.count("unicast_delivered")
        origin = peer.owner
        if partial.kind == KIND_MESSAGE:
            self.node.unicast_message(payload, origin)
        elif partial.kind == KIND_REQUEST:
            static, address = peer.static, peer.address

            def respond(reply, when, error=None):
                if error is None and len(reply) > limits.MAX_UNICAST_PAYLOAD:
                    error = f"the reply of {len(reply)} bytes is over {limits.MAX_UNICAST_PAYLOAD}"
                if error is not None:
                    self._start(self.node.rng.randbytes(16), static, address, KIND_REFUSED, mid,
                                str(error).encode()[: limits.FRAGMENT_SIZE], when, _ignore)
                else:
                    self._start(self.node.rng.randbytes(16), static, address, KIND_REPLY, mid,
                                reply, when, _ignore)

            self.node.unicast_request(payload, origin, respond)
        elif partial.ref is not None:
            error = None if partial.kind == KIND_REPLY else RemoteError(payload.decode("utf-8", "replace"))
            self._answer_request(partial.ref, error, payload if error is None else None, now)

    def _answer_request(self, mid, error, reply, now):
        pending = self.requests.pop(mid, None)
        if pending is not None:
            pending[0](error, reply, now)

    def _request_timer(self, now, mid):
        pending = self.requests.get(mid)
        if pending is not None and pending[1] <= now:
            self._answer_request(mid, TimedOut("no reply in time"), None, now)


def _ignore(error, result, now):
    """Replies are not retried beyond their own retransmissions: the requester asks again."""
