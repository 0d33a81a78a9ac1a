"""Handshake, sessions and hostile datagrams, through the simulator: what a server sees when a
peer connects, when someone replays or forges traffic, and when the network password differs."""

import hashlib

from twisted.trial.unittest import TestCase

from nostrp2p.mesh import crypto, limits, wire
from nostrp2p.mesh.sim import SimNetwork
from tests.mesh.helpers import grow


class HandshakeTests(TestCase):
    def test_two_servers_become_neighbours_and_learn_each_others_owner_key(self):
        net = SimNetwork(seed=3)
        a = net.add_node()
        b = net.add_node(bootstrap=[a])
        net.run_for(5)
        [peer_of_a] = net.node(a).peers()
        [peer_of_b] = net.node(b).peers()
        self.assertEqual(peer_of_a.overlay_key, net.node(b).identity.public_key)
        self.assertEqual(peer_of_a.owner_key, net.node(b).identity.owner_key)
        self.assertEqual(peer_of_b.owner_key, net.node(a).identity.owner_key)
        self.assertEqual(peer_of_b.address, a)

    def test_session_traffic_is_encrypted(self):
        net = SimNetwork(seed=3)
        a = net.add_node()
        b = net.add_node(bootstrap=[a])
        captured = []
        net.taps.append(lambda src, dst, datagram: captured.append(datagram))
        net.run_for(2)
        mid = net.broadcast(b, b"secret words in the payload")
        net.run_for(2)
        self.assertIn(a, net.reached(mid))
        self.assertTrue(captured)
        self.assertFalse(any(b"secret words" in d for d in captured))
        # Every overlay datagram starts with the version byte, never with STUN's 00 bits.
        self.assertTrue(all(d[0] == wire.MAGIC and d[0] >> 6 != 0 for d in captured))

    def test_a_server_restarting_with_the_same_key_reconnects(self):
        net = SimNetwork(seed=4)
        a = net.add_node()
        b = net.add_node(bootstrap=[a])
        net.run_for(5)
        net.crash(b)
        net.run_for(1)
        net.restart(b)
        net.run_for(5)
        mid = net.broadcast(a, b"after restart")
        net.run_for(3)
        self.assertIn(b, net.reached(mid))


    def test_sessions_are_rekeyed_and_keep_working_past_their_maximum_age(self):
        net = SimNetwork(seed=7)
        a = net.add_node()
        b = net.add_node(bootstrap=[a])
        net.run_for(5)
        first = {net.node(x).links.peers[net.node(y).identity.public_key].current.local_sid for x, y in ((a, b), (b, a))}
        net.run_for(limits.SESSION_MAX_AGE * 2)
        later = {net.node(x).links.peers[net.node(y).identity.public_key].current.local_sid for x, y in ((a, b), (b, a))}
        self.assertFalse(first & later)
        self.assertEqual(net.node(a).stats["peer_timed_out"], 0)
        mid = net.broadcast(a, b"after rekeying")
        net.run_for(2)
        self.assertIn(b, net.reached(mid))


class HostileInputTests(TestCase):
    def setUp(self):
        self.net = SimNetwork(seed=5)
        self.a = self.net.add_node()
        self.b = self.net.add_node(bootstrap=[self.a])
        self.net.run_for(3)

    def _capture_gossip_to(self, destination):
        frames = []
        self.net.taps.append(
            lambda src, dst, d: frames.append(d) if dst == destination and d[1] == wire.FRAME_DATA and len(d) > 100 else None
        )
        return frames

    def test_replayed_datagram_is_refused_and_counted(self):
        frames = self._capture_gossip_to(self.a)
        delivered = []
        self.net.node(self.a).on_broadcast = lambda payload, origin, mid, via: delivered.append(payload)
        self.net.broadcast(self.b, b"only once " * 8)
        self.net.run_for(1)
        self.assertEqual(delivered, [b"only once " * 8])
        self.net.inject(frames[0], self.b, self.a)
        self.net.run_for(1)
        self.assertEqual(delivered, [b"only once " * 8])
        self.assertEqual(self.net.node(self.a).stats["drop_replayed"], 1)

    def test_tampered_oversize_and_garbage_datagrams_are_dropped_and_counted(self):
        frames = self._capture_gossip_to(self.a)
        self.net.broadcast(self.b, b"x" * 200)
        self.net.run_for(1)
        tampered = bytearray(frames[0])
        tampered[-1] ^= 1
        tampered[9] ^= 0x40  # a fresh counter, so it is the tag that fails
        self.net.inject(bytes(tampered), self.b, self.a)
        self.net.inject(bytes([wire.MAGIC, wire.FRAME_DATA]) + b"\x00" * (limits.MAX_DATAGRAM + 1), self.b, self.a)
        self.net.inject(bytes([wire.MAGIC, 0x7F, 1, 2, 3]), self.b, self.a)
        self.net.inject(bytes([wire.MAGIC, wire.FRAME_RESP]) + b"\xc1" * 40, self.b, self.a)
        self.net.inject(bytes([wire.MAGIC, wire.FRAME_DATA]) + b"\x00" * 40, self.b, self.a)
        self.net.run_for(1)
        stats = self.net.node(self.a).stats
        self.assertEqual(stats["drop_undecryptable"], 1)
        self.assertEqual(stats["drop_oversize"], 1)
        self.assertEqual(stats["drop_unknown_frame"], 1)
        self.assertEqual(stats["drop_malformed"], 1)
        self.assertEqual(stats["drop_unknown_session"], 1)
        # still working afterwards
        mid = self.net.broadcast(self.b, b"still here")
        self.net.run_for(1)
        self.assertIn(self.a, self.net.reached(mid))

    def test_oversize_payload_is_refused_with_the_limit_named(self):
        with self.assertRaisesRegex(ValueError, "MAX_BROADCAST_MESSAGE"):
            self.net.broadcast(self.a, b"x" * (limits.MAX_BROADCAST_MESSAGE + 1))
        mid = self.net.broadcast(self.a, b"x" * limits.MAX_BROADCAST_MESSAGE)
        self.net.run_for(10)
        self.assertIn(self.b, self.net.reached(mid))


class NetworkPasswordTests(TestCase):
    def test_wrong_password_cannot_join_or_read(self):
        net, members = grow(4, seed=6, password="sesame", settle=10)
        captured = []
        net.taps.append(lambda src, dst, d: captured.append(d))
        outsider = net.add_node(bootstrap=[members[0]], password="guess")
        net.run_for(30)
        self.assertEqual(net.node(outsider).peers(), [])
        self.assertGreater(net.node(members[0]).stats["drop_bad_handshake_mac"], 0)
        # The members never answered the outsider at all.
        self.assertFalse(any(d[1] == wire.FRAME_RESP for d in captured))
        mid = net.broadcast(members[1], b"members only")
        net.run_for(3)
        self.assertEqual(net.reached(mid), set(members))

    def test_same_password_joins(self):
        net, members = grow(3, seed=6, password="sesame", settle=5)
        late = net.add_node(bootstrap=[members[0]], password="sesame")
        net.run_for(5)
        self.assertTrue(net.node(late).peers())

    def test_network_key_depends_on_the_password(self):
        self.assertEqual(crypto.network_key(None), bytes(32))
        self.assertNotEqual(crypto.network_key("a"), crypto.network_key("b"))
        self.assertEqual(crypto.network_key("a"), crypto.network_key(b"a"))

    def test_network_key_is_argon2id_as_documented(self):
        # Checked against the reference Argon2 implementation (argon2-cffi), not libsodium: a
        # server built on either derives the same key from the same password.
        from argon2.low_level import Type, hash_secret_raw

        salt = hashlib.blake2b(b"nostrp2p network key", digest_size=16).digest()
        expected = hash_secret_raw(b"sesame", salt, time_cost=3, memory_cost=64 * 1024,
                                   parallelism=1, hash_len=32, type=Type.ID)
        self.assertEqual(crypto.network_key("sesame"), expected)

    def test_network_key_is_not_the_fast_hash_of_earlier_versions(self):
        fast = hashlib.blake2b(b"sesame", digest_size=32, person=b"np2p-netkey-v1").digest()
        self.assertNotEqual(crypto.network_key("sesame"), fast)


class ReplayWindowTests(TestCase):
    def test_window_accepts_reordered_and_refuses_repeats_and_the_too_old(self):
        window = crypto.ReplayWindow()
        for counter in (5, 3, 4, 1):
            self.assertTrue(window.fresh(counter))
            window.mark(counter)
        for counter in (5, 3, 4, 1, 0):
            self.assertFalse(window.fresh(counter))
        self.assertTrue(window.fresh(2))
        window.mark(5 + limits.REPLAY_WINDOW + 10)
        self.assertFalse(window.fresh(2))
        self.assertTrue(window.fresh(5 + limits.REPLAY_WINDOW + 9))
