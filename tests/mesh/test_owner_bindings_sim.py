"""What an owner claim is worth on the overlay (docs/PROTOCOL.md, "Owner bindings"), in the
simulator with the real core and real BIP-340 bindings: a server whose owner bound it is the
only one reached for that owner, whatever impostors claim in handshakes, descriptors or FOUND
answers; a newer binding replaces an older one; an expired one counts for nothing; and owners
nobody bound are reached as before."""

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, messages as m, wire
from nostrp2p.mesh.descriptor import Descriptor
from nostrp2p.mesh.routing import Lookup, fit_found
from nostrp2p.mesh.sim import LinkModel, SimNetwork
from tests.mesh.bound_servers import add_server, network, say
from tests.mesh.test_unicast_sim import _settle


def delivered(server, payload) -> bool:
    return any(p == payload for p, _ in server.net.messages[server.address])


def mention(net, sender, owner, payload):
    outcome = net.unicast(sender.address, owner, payload)
    _settle(net, [outcome])
    return outcome


def hello(net, sender, to):
    """``sender`` makes itself known to ``to`` with one FIND (what the issue's impostor did):
    a session, and its claim, the latest ``to`` has heard."""
    say(net, sender, to, m.Find(4242, sender.owner))
    net.run_for(1)


class ImpostorInTheHandshakeTests(TestCase):
    def setUp(self):
        self.net, self.servers = network(12, seed=302, bound={5})
        self.b, self.a = self.servers[5], self.servers[9]
        # Started with B's owner key but not B's secret: it cannot bind itself.
        self.impostor = add_server(self.net, self.servers[:1], keys=self.b.keys)
        self.net.run_for(20)

    def test_an_impostor_claiming_an_owner_in_its_handshake_does_not_get_its_mentions(self):
        hello(self.net, self.impostor, self.a)
        outcome = mention(self.net, self.a, self.b.owner, b"@B")
        self.assertIsNone(outcome.error)
        self.assertTrue(delivered(self.b, b"@B"))
        self.assertFalse(delivered(self.impostor, b"@B"))

    def test_the_impostor_is_told_and_says_so_once(self):
        hello(self.net, self.impostor, self.a)
        hello(self.net, self.impostor, self.b)  # it meets B's binding on their session too
        self.assertEqual(self.impostor.node.stats["own_owner_bound_elsewhere"], 1)
        self.assertEqual(self.b.node.stats["own_owner_bound_elsewhere"], 0)

    def test_what_the_impostor_asks_in_the_owners_name_is_not_asked_as_the_owner(self):
        # A request (a share, a fetch) reaches the server above with the sender's owner only
        # when that claim is believed.
        origins = []
        self.a.node.on_request = lambda payload, origin, via, respond: (
            origins.append(origin), respond(b"ok", self.net.now))
        hello(self.net, self.b, self.a)
        ask = self.net.request(self.impostor.address, self.a.owner, b"share")
        _settle(self.net, [ask])
        self.assertEqual(origins, [bytes(32)])
        self.assertGreater(self.a.node.stats["claim_not_believed"], 0)


class PoisonedDescriptorTests(TestCase):
    def setUp(self):
        self.net, self.servers = network(12, seed=303, bound={4})
        self.b, self.a, self.hostile = self.servers[4], self.servers[8], self.servers[10]

    def poison(self, binding=None):
        host, port = self.hostile.address
        return Descriptor(self.hostile.overlay_key, self.b.owner, host, port, binding)

    def test_descriptors_naming_a_bound_owner_at_the_hostiles_key_do_not_take_its_contact(self):
        # Shuffle samples and joins name the hostile server as B's, without B's binding...
        poison = self.poison()
        say(self.net, self.hostile, self.a, m.ShuffleReply((poison,)))
        say(self.net, self.hostile, self.a, m.ForwardJoin(poison, 0))
        # ...and it answers every FIND with itself as B's, once with B's real binding copied.
        stolen = self.b.bind()

        def poisoned_find(peer, message, now):
            answer = m.Found(message.lookup_id, (self.poison(), self.poison(stolen)))
            self.hostile.node.send(peer.overlay_key, None, answer, now)

        self.hostile.node.handle(m.Find, poisoned_find)
        self.net.run_for(2)
        outcome = mention(self.net, self.a, self.b.owner, b"@B")
        self.assertIsNone(outcome.error)
        self.assertTrue(delivered(self.b, b"@B"))
        self.assertFalse(delivered(self.hostile, b"@B"))

    def test_a_copied_binding_naming_another_key_is_refused_and_counted(self):
        stolen = self.b.bind()
        self.hostile.node.handle(m.Find, lambda peer, message, now: self.hostile.node.send(
            peer.overlay_key, None, m.Found(message.lookup_id, (self.poison(stolen),)), now))
        # A looks B up and the one server it asks is the hostile one.
        router, found = self.a.node.router, []
        lookup = Lookup(router, 77, self.b.owner, self.net.now)
        hostile = Descriptor(self.hostile.overlay_key, self.hostile.owner, *self.hostile.address)
        lookup.candidates = {hostile.overlay_key: hostile}
        lookup.waiters.append(lambda desc, now: found.append(desc))
        router.lookups[self.b.owner] = lookup
        lookup.step(self.net.now)
        self.net._flush(self.net.hosts[self.a.address])
        self.net.run_for(10)
        self.assertEqual(self.a.node.stats["drop_bad_binding"], 1)
        self.assertEqual(found, [None])  # the hostile's answer is not taken


class RotationTests(TestCase):
    def test_a_newer_binding_wins_over_the_old_server_still_running(self):
        net, servers = network(12, seed=303, bound={3})
        old, a = servers[3], servers[7]
        first = mention(net, a, old.owner, b"before")
        self.assertIsNone(first.error)
        self.assertTrue(delivered(old, b"before"))
        # The owner moves to a new machine and binds it with a higher sequence; the old one
        # (its key stolen, say) keeps running and keeps claiming.
        new = add_server(net, servers[:1], keys=old.keys, bound=True, sequence=2, created_at=2)
        net.run_for(20)
        hello(net, new, a)
        hello(net, old, a)  # the old server is the latest claimant a has heard
        second = mention(net, a, old.owner, b"after")
        self.assertIsNone(second.error)
        self.assertTrue(delivered(new, b"after"))
        self.assertFalse(delivered(old, b"after"))
        old.node.router.announce(net.now)  # the old server's next announce tells it
        net.run_for(10)
        self.assertEqual(old.node.stats["own_owner_bound_elsewhere"], 1)

    def test_a_third_server_learns_the_newer_binding_from_a_lookup(self):
        net, servers = network(16, seed=304, bound={3})
        old = servers[3]
        new = add_server(net, servers[:1], keys=old.keys, bound=True, sequence=2, created_at=2)
        net.run_for(40)  # both announce themselves to the servers nearest the owner's key
        stranger = add_server(net, servers[:1])
        net.run_for(20)
        outcome = mention(net, stranger, old.owner, b"@owner")
        self.assertIsNone(outcome.error)
        self.assertTrue(delivered(new, b"@owner"))
        self.assertFalse(delivered(old, b"@owner"))


class ExpiryTests(TestCase):
    def test_an_expired_binding_stops_counting(self):
        net, servers = network(12, seed=305)
        b, a = servers[6], servers[2]
        b.bind(expires_at=int(net.now) + 60)
        impostor = add_server(net, servers[:1], keys=b.keys)
        net.run_for(10)
        hello(net, b, a)
        origins = []
        a.node.on_request = lambda payload, origin, via, respond: (
            origins.append(origin), respond(b"ok", net.now))

        def impostor_asks():
            _settle(net, [net.request(impostor.address, a.owner, b"share")])
            return origins.pop()

        self.assertEqual(impostor_asks(), bytes(32))  # not believed while B's binding lasts
        self.assertEqual(a.node.claims.bound_key(b.owner, net.now), b.overlay_key)
        net.run_for(60)  # the binding expires and B's owner does not bind again
        # B counts as unbound now, as any other claimant of its owner does.
        self.assertEqual(impostor_asks(), b.owner)
        self.assertIsNone(a.node.claims.bound_key(b.owner, net.now))
        self.assertIsNone(b.node.claims.own_binding(net.now))  # and B shows it no more


class UnboundOwnersTests(TestCase):
    def test_owners_nobody_bound_are_reached_as_before(self):
        net, servers = network(12, seed=306)
        pairs = [(servers[1], servers[8]), (servers[5], servers[11]), (servers[10], servers[0])]
        outcomes = [net.unicast(s.address, d.owner, b"to %d" % i)
                    for i, (s, d) in enumerate(pairs)]
        asked = net.request(servers[3].address, servers[9].owner, b"ask")
        _settle(net, outcomes + [asked])
        for i, (outcome, (_, destination)) in enumerate(zip(outcomes, pairs)):
            self.assertIsNone(outcome.error)
            self.assertTrue(delivered(destination, b"to %d" % i))
        self.assertEqual(asked.result, b"re:ask")
        self.assertEqual(net.total("claim_sent"), 0)  # unbound servers send no CLAIM at all
        self.assertGreater(net.total("lookup_bound_queries"), 0)  # they asked a little more


class ClaimOnSessionsTests(TestCase):
    def drop_first_claim(self, server, to):
        """The first CLAIM ``server`` sends to ``to`` is lost on the way."""
        claims = server.node.session_claims
        send, dropped = claims._send, []

        def lossy(peer, message, now):
            if not dropped and peer.overlay_key == to.overlay_key:
                dropped.append(message)
                return
            send(peer, message, now)

        claims._send = lossy
        return dropped

    def test_a_binding_arrives_though_one_claim_datagram_is_lost(self):
        for lossy_side in ("initiator", "responder"):
            # Two servers that know nobody else: one session between them, nothing else.
            net = SimNetwork(seed=307, link=LinkModel(jitter=0))  # in order: one CLAIM each way
            initiator, responder = add_server(net, bound=True), add_server(net, bound=True)
            net.run_for(1)
            lossy, other = ((initiator, responder) if lossy_side == "initiator"
                            else (responder, initiator))
            dropped = self.drop_first_claim(lossy, other)
            say(net, initiator, responder, m.Ping())
            net.run_for(5)
            self.assertTrue(dropped, lossy_side)
            self.assertEqual(initiator.node.stats["sessions_established"], 1)
            self.assertTrue(responder.node.claims.is_bound(initiator.overlay_key,
                                                           initiator.owner, net.now), lossy_side)
            self.assertTrue(initiator.node.claims.is_bound(responder.overlay_key,
                                                           responder.owner, net.now), lossy_side)

    def test_an_unbound_initiator_gets_the_responders_binding_though_its_first_claim_is_lost(self):
        net = SimNetwork(seed=310, link=LinkModel(jitter=0))
        initiator, responder = add_server(net), add_server(net, bound=True)
        net.run_for(1)
        dropped = self.drop_first_claim(responder, initiator)
        say(net, initiator, responder, m.Ping())
        net.run_for(5)
        self.assertTrue(dropped)
        self.assertTrue(initiator.node.claims.is_bound(responder.overlay_key, responder.owner,
                                                       net.now))
        self.assertEqual(initiator.node.stats["claim_sent"], 0)  # unbound: it only answered

    def test_a_server_that_never_answers_is_asked_a_bounded_number_of_times(self):
        net, servers = network(3, seed=308, bound={1})
        mute = servers[2]
        mute.node.handle(m.Claim, lambda peer, message, now: None)  # an older server
        say(net, servers[1], mute, m.Ping())
        net.run_for(limits.CLAIM_RESEND_AFTER * (limits.CLAIM_ATTEMPTS + 3))
        self.assertLessEqual(servers[1].node.stats["claim_sent"],
                             limits.CLAIM_ATTEMPTS * len(servers[1].node.links.peers))


class FoundSizeTests(TestCase):
    def test_a_found_with_a_binding_still_fits_one_datagram_and_keeps_the_sought_owner(self):
        net, servers = network(2, seed=309, bound={1}, settle=1)
        binding = servers[1].bind()
        sought = Descriptor(servers[1].overlay_key, servers[1].owner, "203.0.113.1", 7000, binding)
        others = [Descriptor(bytes([i]) * 32, bytes([i + 1]) * 32, "2001:db8::%d" % i, 40000 + i)
                  for i in range(8)]
        answer = fit_found(0xFFFFFFFF, [sought] + others[:7], others[:4])
        frame = len(wire.pack(answer.encode())) + wire.DATA_HEADER_SIZE + wire.TAG_SIZE
        self.assertLessEqual(frame, limits.MAX_DATAGRAM)
        self.assertEqual(answer.found[0], sought)
        self.assertLess(len(answer.found), 8)
        unfitted = m.Found(0xFFFFFFFF, tuple([sought] + others[:7]), tuple(others[:4]))
        self.assertGreater(len(wire.pack(unfitted.encode())) + wire.DATA_HEADER_SIZE
                           + wire.TAG_SIZE, limits.MAX_DATAGRAM)  # what it would have been
