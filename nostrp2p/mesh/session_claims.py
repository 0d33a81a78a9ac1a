"""Owner bindings on sessions: each side of a new session shows its binding once, encrypted, in
a CLAIM message (docs/PROTOCOL.md, "Owner bindings").

* The initiator, when bound, sends CLAIM(its binding, answer=True) as the first DATA of the
  session, ahead of what was queued: no round trip is added before data flows.
* The responder, when bound, sends CLAIM(its binding, answer=True) just after the session is
  installed, unless the initiator's CLAIM asked already (then its answer is that CLAIM).
* A CLAIM with ``answer`` gets one back: the receiver's binding, or None from an unbound
  server, with ``answer`` False. That answer is also the acknowledgement.
* A bound side that got no CLAIM back sends its own again every CLAIM_RESEND_AFTER, at most
  CLAIM_ATTEMPTS times: the loss of any single datagram delays a binding, never loses it.

Two unbound servers send no CLAIM at all. Until a peer's binding has arrived and verified, its
owner claim counts as unbound (claims.py decides what that allows)."""

from __future__ import annotations

from nostrp2p.bounded import RecentTable
from nostrp2p.mesh import limits, messages as m


class ClaimState:
    """What one peer's current session has done about CLAIMs."""

    __slots__ = ("session", "sent", "acknowledged", "answers", "timer")

    def __init__(self, session):
        self.session = session
        self.sent = 0  # CLAIMs asking for an answer sent on it
        self.acknowledged = False  # a CLAIM came back after ours
        self.answers = 0  # CLAIMs we answered on it
        self.timer = None


class SessionClaims:
    def __init__(self, node, links, claims):
        self.node = node  # the core: send, timers, counters, claim_verified
        self.links = links
        self.claims = claims
        # overlay key -> the state of its current session (a forgotten peer's goes with the bound)
        self.states = RecentTable(limits.MAX_SESSIONS * 2, on_forget=_cancel)
        node.handle(m.Claim, self._on_claim)

    def session_up(self, peer, now: float) -> None:
        """A session was installed for ``peer``: show our binding on it (the initiator at once,
        ahead of what waited for the session; the responder once the DATA frame that proved
        the initiator has been read, since that may be a CLAIM asking already)."""
        old = self.states.pop(peer.overlay_key, None)
        if old is not None:
            _cancel(peer.overlay_key, old)
        state = ClaimState(peer.current)
        self.states.keep(peer.overlay_key, state)
        if self.node.claims.own_binding(now) is None:
            return
        if peer.current.initiator:
            self._ask(peer, state, now)
        else:
            state.timer = self.node.timers.call_at(now, self._timer, peer.overlay_key, state)

    def _current(self, overlay_key, state):
        peer = self.links.peers.get(overlay_key)
        if peer is None or peer.current is not state.session or self.states.get(overlay_key) is not state:
            return None
        return peer

    def _timer(self, now, overlay_key, state) -> None:
        state.timer = None
        peer = self._current(overlay_key, state)
        if peer is None or state.acknowledged:
            return
        if state.sent >= limits.CLAIM_ATTEMPTS:
            self.node.count("claim_unanswered")  # an older server, or one gone
            return
        self._ask(peer, state, now)

    def _ask(self, peer, state, now) -> None:
        binding = self.node.claims.own_binding(now)
        if binding is None:
            return
        state.sent += 1
        self.node.count("claim_sent")
        self._send(peer, m.Claim(binding, True), now)
        state.timer = self.node.timers.call_at(now + limits.CLAIM_RESEND_AFTER, self._timer,
                                               peer.overlay_key, state)

    def _send(self, peer, message, now) -> None:
        # On the session itself, never through a relay: the binding is for this peer.
        self.links.send(peer.overlay_key, peer.address, message, now)

    def _on_claim(self, peer, message, now) -> None:
        if self.links.peers.get(peer.overlay_key) is not peer:
            raise m.MalformedFrame("a CLAIM comes on a session of the peer's own")
        state = self.states.get(peer.overlay_key)
        if state is None or state.session is not peer.current:
            state = ClaimState(peer.current)
            self.states.keep(peer.overlay_key, state)
        if state.sent:
            state.acknowledged = True
            if state.timer is not None:
                state.timer.cancel()
                state.timer = None
        if message.binding is not None and peer.owner is not None:
            self.node.claims.check(peer.overlay_key, peer.owner, message.binding, now)
        if message.answer:
            if state.answers >= limits.CLAIM_ANSWERS_PER_SESSION:
                self.node.count("drop_claim_over_budget")
                return
            state.answers += 1
            if state.timer is not None:  # the responder's own CLAIM is not needed now
                state.timer.cancel()
                state.timer = None
                state.acknowledged = True
            self._send(peer, m.Claim(self.node.claims.own_binding(now), False), now)


def _cancel(overlay_key, state) -> None:
    if state.timer is not None:
        state.timer.cancel()
        state.timer = None
