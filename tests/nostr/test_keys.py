"""Keys: NIP-19 vectors, decoding of every form, refusal of what is not a public key."""

import bech32
from twisted.trial.unittest import TestCase

from nostrp2p.nostr.keys import (
    KeyFormatError, KeyPair, decode_key, nip19_decode, nip19_encode, parse_public_key,
)
from tests.vectors import path


def _vectors():
    rows = []
    for line in path("nip19.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


class NIP19Tests(TestCase):
    def test_vectors_encode_and_decode(self):
        rows = _vectors()
        self.assertEqual({r[0] for r in rows}, {"npub", "nsec"})
        for prefix, text, hexkey in rows:
            self.assertEqual(nip19_encode(prefix, bytes.fromhex(hexkey)), text)
            decoded = nip19_decode(text)
            self.assertEqual((decoded.kind, decoded.key.hex()), (prefix, hexkey))

    def test_vector_secret_derives_the_vector_public_key(self):
        rows = {r[0]: r for r in _vectors()}
        pair = KeyPair.from_secret(bytes.fromhex(rows["nsec"][2]))
        self.assertEqual(pair.public.hex(), rows["npub"][2])
        self.assertEqual(pair.npub, rows["npub"][1])
        # Decoded again by the reference bech32 implementation, not by our wrapper.
        prefix, words = bech32.bech32_decode(pair.npub)
        self.assertEqual(prefix, "npub")
        self.assertEqual(bytes(bech32.convertbits(words, 5, 8, False)), pair.public)

    def test_bad_checksum_is_refused(self):
        text = _vectors()[0][1]
        broken = text[:-1] + ("q" if text[-1] != "q" else "p")
        with self.assertRaises(KeyFormatError):
            nip19_decode(broken)

    def test_decode_key_accepts_hex(self):
        self.assertEqual(decode_key("AB" * 32).key, b"\xab" * 32)

    def test_public_key_refuses_nsec_and_junk(self):
        nsec = [r for r in _vectors() if r[0] == "nsec"][0][1]
        with self.assertRaises(KeyFormatError) as caught:
            parse_public_key(nsec)
        self.assertIn("secret key", str(caught.exception))
        for junk in ["", "abc", "ab" * 31, "note1xyz", "npub1"]:
            with self.assertRaises(KeyFormatError):
                parse_public_key(junk)

    def test_generated_pairs_are_distinct_and_consistent(self):
        a, b = KeyPair.generate(), KeyPair.generate()
        self.assertNotEqual(a.secret, b.secret)
        self.assertEqual(nip19_decode(a.npub).key, a.public)
        self.assertEqual(nip19_decode(a.nsec).key, a.secret)
