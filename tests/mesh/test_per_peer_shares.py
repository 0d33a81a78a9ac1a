"""Shares per peer: partial unicast messages are held within a share per sending server (a member
that sends the first fragments of many messages loses its own oldest, never another server's), and
messages waiting for one unknown server to be found cannot take every waiting place."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, messages as m
from nostrp2p.mesh.reassembly import Reassembly
from nostrp2p.mesh.sim import SimNetwork


class ReassemblyShareTests(TestCase):
    def test_a_member_sending_many_first_fragments_does_not_push_out_anothers_message(self):
        net = SimNetwork(seed=11)
        a = net.add_node()
        honest = net.add_node(bootstrap=[a])
        hostile = net.add_node(bootstrap=[a])
        net.run_for(5)
        victim = net.node(a)
        got = []
        victim.on_message = lambda payload, origin, via: got.append(payload)
        key_a = victim.identity.public_key

        def fragment(mid, index, chunk):
            return m.Fragment(mid, index, 2, m.KIND_MESSAGE, None, chunk)

        honest_mid = b"H" * 16
        net.node(honest).send(key_a, None, fragment(honest_mid, 0, b"first half, "), net.now)
        net.run_for(limits.MAINTENANCE_INTERVAL)  # the sender flushes its outgoing on its next timer
        for i in range(limits.MAX_REASSEMBLY_MESSAGES * 2):  # twice the whole table
            net.node(hostile).send(key_a, None, fragment(i.to_bytes(16, "big"), 0, b"x" * 900), net.now)
        net.run_for(limits.MAINTENANCE_INTERVAL)  # the sender flushes its outgoing on its next timer
        net.node(honest).send(key_a, None, fragment(honest_mid, 1, b"second half"), net.now)
        net.run_for(limits.MAINTENANCE_INTERVAL)  # the sender flushes its outgoing on its next timer
        self.assertEqual(got, [b"first half, second half"])
        self.assertGreater(victim.stats["drop_reassembly_peer_full"], limits.MAX_REASSEMBLY_MESSAGES)
        hostile_key = net.node(hostile).identity.public_key
        held = [k for k in victim.unicaster.partials.partials if k[0] == hostile_key]
        self.assertEqual(len(held), limits.MAX_REASSEMBLY_MESSAGES_PER_PEER)

    def test_the_share_counts_bytes_too_and_accounts_exactly(self):
        dropped = []
        parts = Reassembly(dropped.append, 64, 10_000, "full", "timeout", per_sender=(8, 3000, "share"))
        for i in range(4):
            parts.add(("big", i), 0, 2, b"x" * 1000, 0.0)
        parts.add(("small", 0), 0, 2, b"y" * 10, 0.0)
        self.assertEqual(dropped, ["share"])  # big's oldest went, nobody else's
        self.assertNotIn(("big", 0), parts)
        self.assertIn(("small", 0), parts)
        self.assertEqual(parts.sender_bytes["big"], 3000)
        self.assertEqual(parts.add(("small", 0), 1, 2, b"z", 0.0), b"y" * 10 + b"z")
        self.assertNotIn("small", parts.sender_messages)
        self.assertEqual(parts.bytes, 3000)


class LookupShareTests(TestCase):
    def test_sends_to_one_unknown_server_cannot_take_every_waiting_place(self):
        net = SimNetwork(seed=12)
        a = net.add_node()
        b = net.add_node(bootstrap=[a])
        net.run_for(5)
        unknown = b"\x42" * 32
        flood = [net.unicast(a, unknown, b"anyone there?") for _ in range(limits.MAX_OUTGOING_PER_PEER + 10)]
        refused = [o for o in flood if o.finished is not None]
        self.assertEqual(len(refused), 10)  # at once, with the reason
        self.assertTrue(all("too many messages waiting" in str(o.error) for o in refused))
        honest = net.unicast(a, net.owner_of(b), b"to a server that exists")
        deadline = net.now + 30
        while honest.finished is None and net.now < deadline:
            net.run_for(0.5)
        self.assertIsNone(honest.error)
        while any(o.finished is None for o in flood) and net.now < deadline + 30:
            net.run_for(1)
        self.assertEqual(net.node(a).unicaster.locator.per_owner, {})  # every place given back
