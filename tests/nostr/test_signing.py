"""BIP-340 signatures: the published vectors, and interoperability of our events."""

import csv
import hashlib

from coincurve import PrivateKey, PublicKeyXOnly
from twisted.trial.unittest import TestCase

from nostrp2p.nostr import EventError, sign_event, verify_event
from nostrp2p.nostr.event import Event, canonical_json
from nostrp2p.nostr import limits, signing
from nostrp2p.nostr.signing import schnorr_sign, schnorr_verify, xonly_public_key
from tests.vectors import path


def _vectors():
    with open(path("bip340-test-vectors.csv"), newline="") as f:
        return list(csv.DictReader(f))


class BIP340VectorTests(TestCase):
    def test_all_vectors_are_present(self):
        self.assertEqual(len(_vectors()), 15)

    def test_every_vector_verifies_as_published(self):
        for row in _vectors():
            expected = row["verification result"] == "TRUE"
            ok = schnorr_verify(
                bytes.fromhex(row["public key"]),
                bytes.fromhex(row["message"]),
                bytes.fromhex(row["signature"]),
            )
            self.assertEqual(ok, expected, f"vector {row['index']}: {row['comment']}")

    def test_signing_vectors_give_the_published_signature(self):
        signed = [row for row in _vectors() if row["secret key"]]
        self.assertEqual(len(signed), 4)
        for row in signed:
            secret = bytes.fromhex(row["secret key"])
            self.assertEqual(xonly_public_key(secret).hex().upper(), row["public key"])
            sig = schnorr_sign(secret, bytes.fromhex(row["message"]), bytes.fromhex(row["aux_rand"]))
            self.assertEqual(sig.hex().upper(), row["signature"], f"vector {row['index']}")


class EventSignatureTests(TestCase):
    secret = bytes.fromhex("67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa")

    def test_our_signature_verifies_with_an_independent_verifier(self):
        event = sign_event(self.secret, 1732400000, 1, [], "hello")
        # Independent path: hash the serialisation ourselves, verify with libsecp256k1 directly.
        digest = hashlib.sha256(
            canonical_json(event.pubkey, event.created_at, event.kind, event.tags, event.content)
        ).digest()
        self.assertEqual(digest, event.id)
        self.assertTrue(PublicKeyXOnly(event.pubkey).verify(event.sig, event.id))

    def test_an_independently_signed_event_verifies(self):
        key = PrivateKey(self.secret)
        pubkey = key.public_key_xonly.format()
        text = f'[0,"{pubkey.hex()}",1,7,[["e","{"ab" * 32}"]],"+"]'.encode()
        event_id = hashlib.sha256(text).digest()
        sig = key.sign_schnorr(event_id, b"\x00" * 32)
        verify_event(Event(event_id, pubkey, 1, 7, (("e", "ab" * 32),), "+", sig))

    def test_tampered_content_is_refused_by_id(self):
        event = sign_event(self.secret, 1732400000, 1, [], "hello")
        forged = Event(event.id, event.pubkey, event.created_at, 1, (), "hellO", event.sig)
        with self.assertRaises(EventError) as caught:
            verify_event(forged)
        self.assertEqual(caught.exception.field, "id")

    def test_signature_by_another_key_is_refused(self):
        event = sign_event(self.secret, 1732400000, 1, [], "hello")
        other = sign_event(b"\x01" * 32, 1732400000, 1, [], "hello")
        forged = Event(event.id, event.pubkey, event.created_at, 1, (), "hello", other.sig)
        with self.assertRaises(EventError) as caught:
            verify_event(forged)
        self.assertEqual(caught.exception.field, "sig")


class ParsedKeyCacheTests(TestCase):
    def test_a_known_key_still_refuses_a_signature_it_did_not_make(self):
        secret, other = b"\x05" * 32, b"\x06" * 32
        pubkey, message = xonly_public_key(secret), b"\x11" * 32
        self.assertTrue(schnorr_verify(pubkey, message, schnorr_sign(secret, message)))
        self.assertIn(pubkey, signing._parsed_keys)  # parsed once, kept
        self.assertFalse(schnorr_verify(pubkey, message, schnorr_sign(other, message)))
        self.assertFalse(schnorr_verify(pubkey, b"\x12" * 32, schnorr_sign(secret, message)))

    def test_the_cache_stays_within_its_bound_and_keeps_no_junk(self):
        message = b"\x13" * 32
        for n in range(3 * limits.PARSED_KEYS_CACHED):  # about half are points on the curve
            pubkey = hashlib.sha256(n.to_bytes(4, "big")).digest()
            schnorr_verify(pubkey, message, b"\x00" * 64)
            self.assertLessEqual(len(signing._parsed_keys), limits.PARSED_KEYS_CACHED)
        not_on_the_curve = b"\xff" * 32  # above the field size
        self.assertFalse(schnorr_verify(not_on_the_curve, message, b"\x00" * 64))
        self.assertNotIn(not_on_the_curve, signing._parsed_keys)
