"""Reliable unicast to the server of an owner key: located (locator.py), sent fragment by
fragment with acknowledgements and retransmissions (arq.py), reassembled and delivered exactly
once at the destination (reassembly.py); requests wait for a reply (pending_requests.py).

``done(error, result, now)`` callbacks report every outcome: ``error`` is None or one of
nostrp2p.mesh.errors (UnknownKey, Unreachable, TimedOut, RemoteError). A request reaches the
layer above with ``respond(reply, now, error=None)``, to be called once, now or later."""

from __future__ import annotations

from nostrp2p.bounded import RecentTable
from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.arq import Sender
from nostrp2p.mesh.broadcast import PayloadTooLarge
from nostrp2p.mesh.errors import RemoteError, TimedOut, Unreachable
from nostrp2p.mesh.locator import Locator
from nostrp2p.mesh.messages import KIND_CHANNEL, KIND_MESSAGE, KIND_REFUSED, KIND_REPLY, KIND_REQUEST
from nostrp2p.mesh.pending_requests import PendingRequests
from nostrp2p.mesh.reassembly import Reassembly


class Unicast:
    def __init__(self, node, links, router, reachability, round_trips):
        self.node = node  # the core: identity, rng, timers, counters, the layer above
        self.reachability = reachability
        self.sender = Sender(node, links, reachability, round_trips)
        self.locator = Locator(node, router)
        self.requests = PendingRequests(node.timers)
        self.partials = Reassembly(node.count, limits.MAX_REASSEMBLY_MESSAGES,
                                   limits.MAX_REASSEMBLY_BYTES, full="drop_reassembly_full",
                                   timed_out="drop_reassembly_timeout",
                                   per_sender=(limits.MAX_REASSEMBLY_MESSAGES_PER_PEER,
                                               limits.MAX_REASSEMBLY_BYTES_PER_PEER,
                                               "drop_reassembly_peer_full"),
                                   on_drop=self._partial_gone)
        self.reassembly_timers = {}  # key of a partial message -> its timeout's call
        self.delivered = RecentTable(limits.DELIVERED_IDS_MAX)  # message id -> when forgotten
        node.handle(m.Fragment, self._on_fragment)

    # --- what the service calls ----------------------------------------------------------------
    def send(self, owner: bytes, payload: bytes, now: float, done) -> bytes:
        """Deliver ``payload`` to the server of ``owner``; ``done(error, None, now)`` once it
        acknowledged every fragment, or failed."""
        return self._to_owner(owner, payload, KIND_MESSAGE, now, done)

    def request(self, owner: bytes, payload: bytes, now: float, done, timeout=None) -> bytes:
        """Send a request; ``done(error, reply, now)`` when the reply came back or it failed."""
        self._check_size(payload)
        if self.requests.full():
            self.node.count("drop_out_requests_full")
            done(TimedOut("too many requests waiting for replies"), None, now)
            return b""
        mid = self.node.rng.randbytes(16)
        self.requests.wait(mid, done, now + (timeout if timeout is not None else limits.REQUEST_TIMEOUT))

        def sent(error, _, now):
            if error is not None:
                self.requests.answer(mid, error, None, now)

        self._to_owner(owner, payload, KIND_REQUEST, now, sent, mid=mid)
        return mid

    def cancel_all(self, now: float) -> None:
        """The service stops: every pending outcome fails now rather than never."""
        stopped = Unreachable("the overlay stopped")
        self.requests.fail_all(stopped, now)
        self.sender.cancel_all(stopped, now)
        self.locator.fail_all(stopped, now)

    def relay_refused(self, overlay_key: bytes, now: float) -> None:
        self.sender.relay_refused(overlay_key, now)

    def peer_unreachable(self, overlay_key: bytes, now: float) -> None:
        self.sender.peer_unreachable(overlay_key, now)

    @staticmethod
    def _check_size(payload: bytes) -> None:
        if len(payload) > limits.MAX_UNICAST_PAYLOAD:
            raise PayloadTooLarge(f"{len(payload)} bytes, over the limit of {limits.MAX_UNICAST_PAYLOAD}")

    # --- sending -------------------------------------------------------------------------------
    def _to_owner(self, owner, payload, kind, now, done, mid=None) -> bytes:
        self._check_size(payload)
        mid = mid or self.node.rng.randbytes(16)
        if owner == self.node.identity.owner_key:
            self._deliver_local(mid, payload, kind, now, done)
            return mid

        def found(desc, now):
            self.reachability.note_owner(desc.overlay_key, desc.owner)
            self.requests.sent_to(mid, desc.overlay_key)  # its reply comes in that session
            self.sender.start(mid, desc.overlay_key, desc.address, kind, None, payload, now, done)

        self.locator.locate(mid, owner, now, done, found)
        return mid

    def _deliver_local(self, mid, payload, kind, now, done):
        own = self.node.identity.owner_key
        if kind == KIND_REQUEST:
            done(None, None, now)

            def respond(reply, when, error=None):
                self.requests.answer(mid, RemoteError(error) if error else None, reply, when)

            self.node.unicast_request(payload, own, self.node.identity.public_key, respond)
        else:
            self.node.unicast_message(payload, own, self.node.identity.public_key)
            done(None, None, now)

    # --- receiving -----------------------------------------------------------------------------
    def _on_fragment(self, peer, message, now):
        mid = message.mid
        if message.kind == KIND_MESSAGE and not self.node.takes_messages():
            self.node.count("drop_unicast_not_taken")  # unacknowledged: the sender keeps it
            return
        self.node.send(peer.overlay_key, peer.address, m.FragmentAck(mid, message.index), now)
        self._expire(now)
        if mid in self.delivered:
            self.node.count("unicast_duplicate")
            return
        key = (peer.overlay_key, mid)
        payload = self.partials.add(key, message.index, message.count, message.chunk, now,
                                    tag=(message.kind, message.ref))
        if key in self.partials and key not in self.reassembly_timers:
            self.reassembly_timers[key] = self.node.timers.call_at(
                now + limits.REASSEMBLY_TIMEOUT, self._reassembly_timer, key)
        if payload is not None:
            self.delivered.keep(mid, now + limits.DELIVERED_IDS_TTL)
            self._deliver(peer, mid, message.kind, message.ref, payload, now)

    def _reassembly_timer(self, now, key):
        self.reassembly_timers.pop(key, None)  # this call has run: nothing left to cancel
        again = self.partials.drop_if_idle(key, now, limits.REASSEMBLY_TIMEOUT)
        if again is not None:
            self.reassembly_timers[key] = self.node.timers.call_at(again, self._reassembly_timer, key)

    def _partial_gone(self, key):
        """A partial message was completed or dropped: its timeout goes with it."""
        call = self.reassembly_timers.pop(key, None)
        if call is not None:
            call.cancel()

    def _expire(self, now):
        while self.delivered:
            mid, expires = self.delivered.oldest()
            if expires > now:
                return
            del self.delivered[mid]

    def _deliver(self, peer, mid, kind, ref, payload, now):
        self.node.count("unicast_delivered")
        origin = self.node.believed_owner(peer)
        via = peer.overlay_key  # the end-to-end session's, whatever path it took
        if kind == KIND_MESSAGE:
            self.node.unicast_message(payload, origin, via)
        elif kind == KIND_CHANNEL:
            self.node.channels.received(peer, payload, now)
        elif kind == KIND_REQUEST:
            overlay_key, address = peer.overlay_key, peer.address

            def respond(reply, when, error=None):
                if error is None and len(reply) > limits.MAX_UNICAST_PAYLOAD:
                    error = f"the reply of {len(reply)} bytes is over {limits.MAX_UNICAST_PAYLOAD}"
                if error is not None:
                    self.sender.start(self.node.rng.randbytes(16), overlay_key, address, KIND_REFUSED,
                                      mid, str(error).encode()[: limits.FRAGMENT_SIZE], when, _ignore)
                else:
                    self.sender.start(self.node.rng.randbytes(16), overlay_key, address, KIND_REPLY,
                                      mid, reply, when, _ignore)

            self.node.unicast_request(payload, origin, via, respond)
        elif ref is not None:
            error = None if kind == KIND_REPLY else RemoteError(payload.decode("utf-8", "replace"))
            if not self.requests.answer(ref, error, payload if error is None else None, now,
                                        session=peer.overlay_key):
                self.node.count("drop_reply_unmatched")


def _ignore(error, result, now):
    """Replies are not retried beyond their own retransmissions: the requester asks again."""
