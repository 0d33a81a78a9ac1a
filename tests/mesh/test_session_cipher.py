"""Data frames keep their bytes whichever library seals them: a server of an earlier version
(PyNaCl's libsodium) and one of this version (cryptography's) read each other's frames."""

import os

from nacl import bindings
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import crypto, wire


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
