"""A server behind a NAT names its relays (its active neighbours) when it announces itself, so a
server that cannot reach it directly, and whose own neighbours cannot either, still finds a way
in: through a server that holds a session with it."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, wire
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.sim import NatType, SimNetwork
from nostrp2p.mesh.sim.nat import DEFAULT_MAPPING_TIMEOUT
from tests.mesh.helpers import grow
from tests.mesh.test_unicast_sim import _settle


class RelaysNamedTests(TestCase):
    def test_a_lookup_names_relays_that_reach_a_natted_server(self):
        # Seeds where the first server to name home in away's lookup holds no relays for it
        # (70, 76: the lookup asks on), where away already knows home and makes no lookup (73:
        # home's relays are asked for once the direct attempt fails), and where it just works.
        for seed in (70, 72, 73, 76):
            net, home, away = self._home_and_away(seed)
            home_key = net.node(home).identity.public_key
            neighbours = {d.overlay_key for d in net.node(home).membership.active.values()}
            outcome = net.unicast(away, net.owner_of(home), b"found you")
            _settle(net, [outcome], limit=120)
            self.assertIsNone(outcome.error, seed)
            self.assertEqual(net.messages[home], [(b"found you", net.owner_of(away))], seed)
            # away was given the relays home named: neighbours of home's, holding sessions.
            relay = net.node(away).reachability
            self.assertIn(home_key, relay.named, seed)
            self.assertTrue(neighbours & {h.overlay_key for h in relay.hints[home_key]}, seed)
            self.assertFalse(net.node(away).links.has_session(home_key), seed)
            # Where the answer that found home did not carry its relays, the lookup asked on for
            # them: home did not answer away's handshake (its NAT keeps strangers out).
            asked_on = net.node(away).stats["lookup_relay_queries"]
            if seed in (70, 76):
                self.assertTrue(0 < asked_on <= limits.LOOKUP_RELAY_QUERIES, seed)

    @staticmethod
    def _home_and_away(seed):
        net = SimNetwork(seed=seed)
        boot = net.add_node()
        publics = []
        for _ in range(60):
            net.run_for(0.2)
            publics.append(net.add_node(bootstrap=[boot]))
        net.run_for(30)
        # Two NATed servers joining through different servers, and neither reaching the
        # bootstrap (which knows everyone and would be a neighbour of both).
        home = net.add_node(bootstrap=[publics[10]], nat=net.add_nat("nat-home", NatType.PORT_RESTRICTED))
        away = net.add_node(bootstrap=[publics[40]], nat=net.add_nat("nat-away", NatType.SYMMETRIC))
        net.block(home, boot)
        net.block(away, boot)
        # Long enough for home's NAT to forget everyone it does not keep talking to.
        net.run_for(30 + DEFAULT_MAPPING_TIMEOUT)
        return net, home, away

    @staticmethod
    def _found_without_relays(seed):
        """A lookup of a server that has to be made (the asker holds neither a contact nor a
        session for it) and whose answers cannot carry its relays (nobody holds any for it)."""
        net, nodes = grow(40, seed=seed)
        asker, sought = net.node(nodes[3]), net.node(nodes[29])
        sought_key = sought.identity.public_key
        asker.router.table.remove(sought_key)
        asker.links.forget(sought_key)
        sought.links.forget(asker.identity.public_key)
        for n in nodes:  # as if it had named no relays: nobody has any for it
            net.node(n).router.relays_of.pop(sought_key, None)
        return net, nodes[3], nodes[29]

    def test_a_lookup_answers_when_it_finds_and_asks_nobody_for_the_relays_of_a_server_that_answers(self):
        net, asker_address, sought_address = self._found_without_relays(seed=74)
        asker = net.node(asker_address)
        outcome = net.unicast(asker_address, net.owner_of(sought_address), b"directly")
        _settle(net, [outcome])
        self.assertIsNone(outcome.error)
        self.assertEqual(net.messages[sought_address], [(b"directly", net.owner_of(asker_address))])
        self.assertTrue(asker.links.has_session(net.node(sought_address).identity.public_key))
        net.run_for(limits.LOOKUP_RELAY_GRACE + 1)
        # It answered our handshake: its relays could not have helped, and nobody was asked.
        self.assertEqual(asker.stats["lookup_relay_queries"], 0)
        self.assertEqual(asker.stats["lookup_relay_queries_skipped"], 1)
        self.assertEqual(asker.router.lookups, {})

    def test_a_lookup_made_for_the_key_alone_asks_nobody_for_relays(self):
        # What a channel member does to learn the root's key: it does not contact the root.
        net, asker_address, sought_address = self._found_without_relays(seed=74)
        asker, sought_owner = net.node(asker_address), net.owner_of(sought_address)
        located = []
        asker.router.locate(sought_owner, net.now, lambda desc, now: located.append(desc))
        started = net.now
        while not located and net.now - started < 10:
            net.run_for(0.05)
        self.assertEqual([d.overlay_key for d in located], [net.node(sought_address).identity.public_key])
        self.assertIn(sought_owner, asker.router.lookups)  # told at once; it may be tried yet
        net.run_for(limits.LOOKUP_QUERY_TIMEOUT * 3)
        self.assertNotIn(sought_owner, asker.router.lookups)
        self.assertEqual(len(located), 1)
        self.assertEqual(asker.stats["lookup_relay_queries"], 0)
        self.assertEqual(asker.stats["lookup_relay_queries_skipped"], 1)

    def test_only_a_server_itself_names_its_relays(self):
        net, nodes = grow(5, seed=73, settle=10)
        answerer = net.node(nodes[0])
        peer = next(p for p in answerer.links.peers.values() if p.current is not None)
        relay = Descriptor(b"\x05" * 32, b"\x06" * 32, "192.0.2.7", 7000)
        someone_else = b"\x07" * 32
        answerer.receive_message(peer, wire.pack([wire.MSG_FIND, 1, someone_else, [relay.encode()]]), net.now)
        self.assertNotIn(relay, answerer.router.relays_of.get(peer.overlay_key, []))
        answerer.receive_message(peer, wire.pack([wire.MSG_FIND, 2, peer.owner, [relay.encode()]]), net.now)
        self.assertEqual(answerer.router.relays_of[peer.overlay_key], [relay])
