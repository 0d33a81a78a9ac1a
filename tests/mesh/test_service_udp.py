"""Several MeshServices on 127.0.0.1 UDP in one reactor: they find each other through a bootstrap
server, a broadcast reaches all of them, and stopping one closes its sessions."""

import os
import stat

from twisted.internet import defer, reactor, task
from twisted.internet.protocol import DatagramProtocol
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import channel_positions, stun
from nostrp2p.mesh.identity import KeyFileError
from nostrp2p.mesh.service import MeshService

DEADLINE = 15.0  # seconds of real time before a poll gives up


@defer.inlineCallbacks
def wait_for(predicate, what):
    waited = 0.0
    while not predicate():
        if waited > DEADLINE:
            raise AssertionError(f"timed out waiting for {what}")
        yield task.deferLater(reactor, 0.05, lambda: None)
        waited += 0.05


class MeshServiceTests(TestCase):
    def _service(self, index, bootstrap=(), password=None):
        key_path = os.path.join(self.directory, f"overlay-{index}.key")
        owner = bytes([index]) * 32
        service = MeshService(("127.0.0.1", 0), key_path, owner, bootstrap, reactor, network_password=password)
        service.startService()
        self.addCleanup(lambda: service.running and service.stopService())
        return service

    def setUp(self):
        self.directory = self.mktemp()
        os.makedirs(self.directory)

    def _probe(self):
        """A UDP socket on 127.0.0.1 and the list of what it receives."""
        received = []
        probe = DatagramProtocol()
        probe.datagramReceived = lambda data, address: received.append(data)
        port = reactor.listenUDP(0, probe, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return port, received

    @defer.inlineCallbacks
    def test_broadcast_reaches_every_server(self):
        first = self._service(1)
        others = [self._service(i, [first.address]) for i in range(2, 6)]
        services = [first] + others
        received = {i: [] for i in range(len(services))}
        for i, service in enumerate(services):
            service.on_broadcast(lambda payload, origin, via, i=i: received[i].append((payload, origin)))
        yield wait_for(lambda: all(s.peers() for s in services), "every server to have a neighbour")
        mid = others[2].broadcast(b"hello over real UDP")
        self.assertEqual(len(mid), 16)
        expected = [(b"hello over real UDP", bytes([4]) * 32)]
        yield wait_for(lambda: all(received[i] == expected for i in range(len(services)) if i != 3),
                       "the broadcast to reach all")
        self.assertEqual(received[3], [])  # the origin is not told of its own broadcast

    @defer.inlineCallbacks
    def test_stopping_closes_sessions_and_peers_notice(self):
        first = self._service(1)
        second = self._service(2, [first.address])
        yield wait_for(lambda: first.peers() and second.peers(), "the two to connect")
        [peer] = first.peers()
        self.assertEqual(peer.owner_key, bytes([2]) * 32)
        self.assertEqual(peer.overlay_key, second.overlay_key)
        yield second.stopService()
        yield wait_for(lambda: not first.peers(), "the first to drop the stopped server")

    @defer.inlineCallbacks
    def test_garbage_and_stun_on_the_same_port(self):
        first = self._service(1)
        port, answers = self._probe()
        port.write(b"\xa1\x03" + b"\x00" * 60, first.address)
        port.write(b"\xff" * 1500, first.address)
        port.write(stun.binding_request(), first.address)
        yield wait_for(lambda: answers, "the STUN answer")
        self.assertEqual(stun.mapped_address(stun.decode(answers[0])), ("127.0.0.1", port.getHost().port))
        yield wait_for(lambda: first.stats().get("drop_oversize") == 1 and first.stats().get("drop_unknown_session") == 1,
                       "the bad datagrams to be counted")
        self.assertEqual(first.stats()["stun_answered"], 1)

    @defer.inlineCallbacks
    def test_an_address_the_socket_refuses_loses_nothing_else(self):
        first = self._service(1)
        port, received = self._probe()
        first.node._outgoing += [(b"refused", ("peer.example", 7000)),
                                 (b"after it", ("127.0.0.1", port.getHost().port))]
        first._pump()
        yield wait_for(lambda: received, "the rest of the batch")
        self.assertEqual(received, [b"after it"])
        self.assertEqual(first.stats()["send_errors"], 1)
        self.assertTrue(first._timer.active())  # the core's timers still run

    @defer.inlineCallbacks
    def test_a_restarted_follower_gets_back_by_its_old_parent_with_no_bootstrap_up(self):
        """Where it stood in the tree is kept beside its key (channel_positions): back with
        nobody else to ask (its bootstrap server gone, its routing table empty), it joins the
        parent it had and gets the next post."""
        author = self._service(1)
        follower = self._service(2, [author.address])
        owner = bytes([1]) * 32
        follower.follow(owner)
        yield wait_for(lambda: follower.node.channels.parent_of(owner) is not None,
                       "the follower to join the author's channel")
        yield follower.stopService()
        kept = channel_positions.load(follower._positions_path)
        self.assertEqual(kept[owner].parent.overlay_key, author.overlay_key)
        again = MeshService(("127.0.0.1", 0), follower.key_path, bytes([2]) * 32, [], reactor)
        again.startService()
        self.addCleanup(again.stopService)
        got = []
        again.on_channel_post(lambda who, payload: got.append((who, payload)))
        again.follow(owner)
        yield wait_for(lambda: again.node.channels.parent_of(owner) is not None,
                       "the restarted follower to be back in the channel")
        author.publish_to_followers(b"after the restart")
        yield wait_for(lambda: (owner, b"after the restart") in got, "the post to arrive")

    @defer.inlineCallbacks
    def test_a_restarted_author_calls_back_the_children_it_had(self):
        """Its own channel's children are kept beside its key too (channel_positions): back
        on another port, with nobody to bootstrap from, it tells the follower it had where its
        channel stands, and the follower joins it again and gets its posts."""
        author = self._service(1)
        follower = self._service(2, [author.address])
        owner = bytes([1]) * 32
        got = []
        follower.on_channel_post(lambda who, payload: got.append(payload))
        follower.follow(owner)
        yield wait_for(lambda: follower.node.channels.parent_of(owner) is not None,
                       "the follower to join the author's channel")
        yield author.stopService()
        kept = channel_positions.load_children(author._positions_path)
        self.assertEqual([child.overlay_key for child, _ in kept], [follower.overlay_key])
        again = MeshService(("127.0.0.1", 0), author.key_path, owner, [], reactor)
        again.startService()
        self.addCleanup(again.stopService)
        self.assertEqual(again.node.stats["channel_former_child_called"], 1)
        yield wait_for(lambda: follower.overlay_key in again.node.channels.channels[owner].children,
                       "the follower to be the restarted author's child again")
        again.publish_to_followers(b"back")
        yield wait_for(lambda: b"back" in got, "the first post after the restart to arrive")

    def test_key_file_is_created_private_and_reused(self):
        first = self._service(1)
        key = first.overlay_key
        path = os.path.join(self.directory, "overlay-1.key")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        first.stopService()
        again = self._service(1)
        self.assertEqual(again.overlay_key, key)

    def test_bad_key_file_and_bad_arguments_are_refused_clearly(self):
        path = os.path.join(self.directory, "broken.key")
        with open(path, "wb") as handle:
            handle.write(b"short")
        service = MeshService(("127.0.0.1", 0), path, bytes(32), [], reactor)
        self.assertRaises(KeyFileError, service.startService)
        self.assertRaises(ValueError, MeshService, ("127.0.0.1", 0), path, b"short", [], reactor)
        self.assertRaises(ValueError, MeshService, ("127.0.0.1", 0), path, bytes(32), [("example.org", 1)], reactor)
