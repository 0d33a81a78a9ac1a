"""Getting through NATs: a server learns the address its datagrams leave from (peers it asks say
where they see it; whoami_asking.py says whom to ask and when), classifies its NAT's mapping as
endpoint-independent (the same public address whoever it talks to) or endpoint-dependent
(symmetric), and when a handshake with another server goes unanswered it has a server that both
can reach introduce them: the introducer tells the target where the asker's datagrams come from,
and the target sends its handshake there. That opens the target's NAT towards the asker, and the
asker's own earlier attempt has opened its NAT towards the target, so the first authenticated
packet through makes a direct session. Until then (or when it cannot work, for two symmetric
NATs) the relay carries the messages."""

from __future__ import annotations

import collections

from nostrp2p.mesh import limits, messages as m, stun
from nostrp2p.bounded import RecentTable, WindowBudget
from nostrp2p.mesh.relay_path import is_relayed
from nostrp2p.mesh.whoami_asking import WhoAmIAsking

UNKNOWN = "unknown"
ENDPOINT_INDEPENDENT = "endpoint-independent"
ENDPOINT_DEPENDENT = "endpoint-dependent"


class Traversal:
    def __init__(self, node, links):
        self.node = node  # the core: send, emit, timers, rng, counters
        self.links = links
        self.observed = RecentTable(limits.REFLEXIVE_OBSERVATIONS_MAX)  # reporter host -> address
        self.behaviour = UNKNOWN
        self.asking = WhoAmIAsking()  # whom to ask where they see us, and when
        self.budget = WindowBudget(limits.PUNCH_BUDGET_PER_MINUTE, 60.0, limits.RELAY_ORIGINS_MAX)
        self.stun_servers = tuple(node.config.stun_servers)[: limits.MAX_STUN_SERVERS]
        self.transactions: dict[bytes, tuple] = {}  # transaction id -> (server, BindingTransaction)
        node.handle(m.WhoAmI, self._on_whoami)
        node.handle(m.YouAre, self._on_you_are)
        node.handle(m.PunchRequest, self._on_punch_request)
        node.handle(m.Punch, self._on_punch)

    # --- reflexive addresses -------------------------------------------------------------------
    def start(self, now: float) -> None:
        if self.stun_servers:
            self._ask_stun_servers(now)
        self.node.timers.call_at(now + limits.WHOAMI_RECHECK_INTERVAL, self._recheck)

    def _ask_stun_servers(self, now: float) -> None:
        if not self.node.running:
            return
        for server in self.stun_servers:
            transaction = stun.BindingTransaction(now, transaction_id=self.node.rng.randbytes(12))
            self.transactions[transaction.transaction_id] = (server, transaction)
            self.node.emit(transaction.datagram(), server, "stun")
            self.node.timers.call_at(transaction.deadline, self._stun_timer,
                                     transaction.transaction_id)
        self.node.timers.call_at(now + limits.STUN_RECHECK_INTERVAL, self._ask_stun_servers)

    def _stun_timer(self, now, transaction_id):
        entry = self.transactions.get(transaction_id)
        if entry is None:
            return
        server, transaction = entry
        again = transaction.on_timer(now)
        if again is not None:
            self.node.emit(again, server, "stun")
        if transaction.deadline is None:
            del self.transactions[transaction_id]
            self.node.count("stun_timed_out")
        else:
            self.node.timers.call_at(transaction.deadline, self._stun_timer, transaction_id)

    def stun_received(self, datagram: bytes, address, now: float) -> None:
        try:
            message = stun.decode(datagram)
        except stun.StunError:
            self.node.count("drop_malformed_stun")
            return
        entry = self.transactions.get(message.transaction_id)
        if entry is None or entry[0] != tuple(address):
            self.node.count("drop_unexpected_stun")
            return
        server, transaction = entry
        try:
            answered = transaction.on_response(message)
        except stun.StunError:
            self.node.count("drop_malformed_stun")
            return
        if answered:
            del self.transactions[message.transaction_id]
            if transaction.result is not None:
                self.node.count("stun_answered_us")
                self._observe(str(server[0]), transaction.result, now)

    def session_up(self, peer, now) -> None:
        if self.asking.new_peer(peer.overlay_key, now):
            self._ask(peer.overlay_key, now)

    def _recheck(self, now) -> None:
        if not self.node.running:
            return
        self._ask_unprompted(now)
        self.node.timers.call_at(self.asking.next_recheck(now), self._recheck)

    def _ask_unprompted(self, now, unsettled_now: bool = False) -> None:
        direct = [key for key in self.links.peers if self.links.has_session(key)]
        for key in self.asking.unprompted(direct, now, unsettled_now):
            self._ask(key, now)

    def _ask(self, overlay_key: bytes, now) -> None:
        self.asking.asking(overlay_key, now)
        self.node.count("whoami_sent")
        self.node.send(overlay_key, None, m.WhoAmI(), now)

    def _on_whoami(self, peer, message, now):
        if is_relayed(peer.address):
            return  # reached through a relay: we do not see its datagrams
        host, port = peer.address
        self.node.send(peer.overlay_key, None, m.YouAre(str(host), int(port)), now)

    def _on_you_are(self, peer, message, now):
        if not self.asking.answered(peer.overlay_key, now):
            self.node.count("drop_unasked_you_are")  # nobody may tell us where we are unasked
            return
        seen = (message.host, message.port)
        if not is_relayed(peer.address):
            self._observe(str(peer.address[0]), seen, now)

    def _observe(self, reporter: str, seen: tuple, now) -> None:
        before = self.observed.get(reporter)
        if before is not None and before != seen:
            self.node.count("reflexive_address_changed")
        self.observed.keep(reporter, seen)
        was_settled = self.asking.settled
        agreed = self.asking.settle(list(self.observed.values()))
        if agreed is not None:
            # The latest reporters agree: reports of another address are from before a change.
            for host, address in list(self.observed.items()):
                if address != agreed:
                    del self.observed[host]
        self._classify()
        if was_settled and not self.asking.settled:
            self.node.count("reflexive_unsettled")  # a new address, or a new NAT behaviour
            self._ask_unprompted(now, unsettled_now=True)

    def _classify(self) -> None:
        addresses = set(self.observed.values())
        if len(self.observed) < 2:
            behaviour = UNKNOWN
        elif len(addresses) == 1:
            behaviour = ENDPOINT_INDEPENDENT
        else:
            behaviour = ENDPOINT_DEPENDENT
        if behaviour != self.behaviour:
            self.behaviour = behaviour
            self.node.count(f"nat_{behaviour}")

    def reflexive_addresses(self) -> list:
        """The public addresses peers see us at, most reported first."""
        counts = collections.Counter(self.observed.values())
        return [address for address, _ in counts.most_common()]

    # --- hole punching -------------------------------------------------------------------------
    def punch(self, destination: bytes, introducer, now) -> None:
        """Ask ``introducer`` (a descriptor of a server we have a session with, or can make one
        with) to have ``destination`` open its NAT towards us."""
        self.node.count("punch_requested")
        self.links.send(introducer.overlay_key, introducer.address,
                             m.PunchRequest(destination), now)

    def _on_punch_request(self, peer, message, now):
        destination = message.destination
        if is_relayed(peer.address) or not self.budget.allow(peer.overlay_key, now):
            self.node.count("drop_punch_refused")
            return
        target = self.links.peers.get(destination)
        if target is None or not self.links.has_session(destination):
            self.node.count("drop_punch_no_session")
            return
        # Each side learns where the other's datagrams come from, and both send at once.
        self.node.count("punch_introduced")
        for to, other in ((target, peer), (peer, target)):
            host, port = other.address
            self.links.send(to.overlay_key, None,
                                 m.Punch(other.overlay_key, other.owner, str(host), int(port)), now)

    def _on_punch(self, peer, message, now):
        other = message.other
        address = (message.host, message.port)
        if other == self.node.identity.public_key or self.links.has_session(other):
            return
        if not self.budget.allow(peer.overlay_key, now):
            self.node.count("drop_punch_refused")
            return
        # Our handshake towards where the other's datagrams come from opens our NAT for it.
        if self.links.punch(other, address, now):
            self.node.count("punch_answered")
