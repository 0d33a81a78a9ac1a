"""A server behind a NAT names its relays (its active neighbours) when it announces itself, so a
server that cannot reach it directly, and whose own neighbours cannot either, still finds a way
in: through a server that holds a session with it."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import wire
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.sim import NatType, SimNetwork
from nostrp2p.mesh.sim.nat import DEFAULT_MAPPING_TIMEOUT
from tests.mesh.helpers import grow
from tests.mesh.test_unicast_sim import _settle


class RelaysNamedTests(TestCase):
    def test_a_lookup_names_relays_that_reach_a_natted_server(self):
        net = SimNetwork(seed=72)
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
        home_node = net.node(home)
        home_key = home_node.identity.public_key
        neighbours = {d.static for d in home_node.membership.active.values()}

        outcome = net.unicast(away, net.owner_of(home), b"found you")
        _settle(net, [outcome], limit=120)
        self.assertIsNone(outcome.error)
        self.assertEqual(net.messages[home], [(b"found you", net.owner_of(away))])
        # The first relay to try is one home named: a neighbour of home's, which had a session.
        hints = net.node(away).relay.hints[home_key]
        self.assertIn(hints[0].static, neighbours)
        self.assertFalse(net.node(away).links.has_session(home_key))

    def test_only_a_server_itself_names_its_relays(self):
        net, nodes = grow(5, seed=73, settle=10)
        answerer = net.node(nodes[0])
        peer = next(p for p in answerer.links.peers.values() if p.current is not None)
        relay = Descriptor(b"\x05" * 32, b"\x06" * 32, "relay.example", 7000)
        someone_else = b"\x07" * 32
        answerer.dispatch(peer, [wire.MSG_FIND, 1, someone_else, [relay.encode()]], net.now)
        self.assertNotIn(relay, answerer.router.relays_of.get(peer.static, []))
        answerer.dispatch(peer, [wire.MSG_FIND, 2, peer.owner, [relay.encode()]], net.now)
        self.assertEqual(answerer.router.relays_of[peer.static], [relay])
