"""Data frames keep their bytes whichever library seals them: a server of an earlier version
(PyNaCl's libsodium) and one of this version (cryptography's) read each other's frames; and a
quiet session lets go of its keyed ciphers without changing a byte."""

import os

from nacl import bindings
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import crypto, limits, wire
from tests.mesh.helpers import grow


def pair():
    key_ab, key_ba = os.urandom(32), os.urandom(32)
    a = crypto.Session(1, 2, os.urandom(32), os.urandom(32), key_ab, key_ba, 0.0, True)
    b = crypto.Session(2, 1, os.urandom(32), os.urandom(32), key_ba, key_ab, 0.0, False)
    return a, b, key_ab


def libsodium_seal(key, remote_sid, counter, plaintext):
    header = wire.DATA_HEADER.pack(wire.MAGIC, wire.FRAME_DATA, remote_sid, counter)
    nonce = b"\x00\x00\x00\x00" + counter.to_bytes(8, "little")
    return header + bindings.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, header, nonce, key)


class SessionCipherTests(TestCase):
    def test_a_frame_sealed_here_is_the_one_libsodium_seals(self):
        a, b, key_ab = pair()
        for counter in (1, 2, 3):
            sealed = a.seal(b"post %d" % counter)
            self.assertEqual(sealed, libsodium_seal(key_ab, 2, counter, b"post %d" % counter))
            self.assertEqual(b.open(sealed), b"post %d" % counter)

    def test_a_frame_libsodium_sealed_opens_here_and_a_changed_one_does_not(self):
        _, b, key_ab = pair()
        self.assertEqual(b.open(libsodium_seal(key_ab, 1, 7, b"hello")), b"hello")
        forged = bytearray(libsodium_seal(key_ab, 1, 8, b"hello"))
        forged[-1] ^= 1
        with self.assertRaises(crypto.BadMac):
            b.open(bytes(forged))
        moved = libsodium_seal(key_ab, 1, 9, b"hello")
        moved = moved[:2] + (5).to_bytes(4, "big") + moved[6:]  # another session id
        with self.assertRaises(crypto.BadMac):  # the header is authenticated too
            b.open(moved)

    def test_a_session_that_let_go_of_its_ciphers_seals_and_opens_as_before(self):
        a, b, key_ab = pair()
        self.assertEqual(b.open(a.seal(b"first")), b"first")
        a.rest()
        b.rest()
        self.assertIsNone(a._sealer)
        sealed = a.seal(b"second")
        self.assertEqual(sealed, libsodium_seal(key_ab, 2, 2, b"second"))  # the counter went on
        self.assertEqual(b.open(sealed), b"second")
        with self.assertRaises(crypto.Replayed):  # and so did the replay window
            b.open(sealed)


class QuietSessionsTests(TestCase):
    def test_quiet_sessions_hold_no_keyed_cipher_and_still_carry_posts(self):
        """A server keeps a session with every server it spoke to lately (lookups, trees), most
        of them quiet: each keyed cipher holds about 2.2 KB outside Python, which at 10,000
        simulated servers was gigabytes. Quiet ones let go of theirs; traffic is unchanged."""
        net, nodes = grow(12, seed=5, settle=20)
        for sender, receiver in zip(nodes[:4], nodes[-4:]):  # sessions quiet once answered
            net.unicast(sender, net.owner_of(receiver), b"one message")
        net.run_for(2 * limits.SESSION_CIPHER_IDLE + 4)
        quiet = busy = 0
        for address in net.live():
            for peer in net.node(address).links.peers.values():
                session = peer.current
                if session is None:
                    continue
                if peer.quiet_for(net.now) > 2 * limits.SESSION_CIPHER_IDLE + 1:
                    quiet += 1
                    self.assertIsNone(session._sealer, address)
                    self.assertIsNone(session._opener, address)
                elif session._sealer is not None:
                    busy += 1
        self.assertGreater(quiet, 0)
        self.assertGreater(busy, 0)
        mid = net.broadcast(nodes[5], b"after a quiet while")
        net.run_for(10)
        self.assertEqual(set(net.deliveries[mid]), set(net.live()))
