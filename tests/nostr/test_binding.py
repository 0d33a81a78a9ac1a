"""Owner bindings: made, packed for the wire, verified once and cached; every claim they do not
support is refused with its reason. nostr-sdk (rust-nostr) signs some of them, so a binding
from any Nostr signer is known to verify, not only one from our own signing code."""

from __future__ import annotations

import json

import nostr_sdk
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from nostrp2p.nostr import KeyPair, event_from_json_bytes, limits, sign_event
from nostrp2p.nostr import signing
from nostrp2p.nostr.binding import (BINDING_KIND, BindingError, binding_from_event,
                                    check_binding, make_binding, pack_binding, unpack_binding)
from nostrp2p.nostr.binding_cache import BindingCache
from nostrp2p.nostr.codec import pack_event
from nostrp2p.nostr.event import Event

OWNER = KeyPair.from_secret(bytes.fromhex("41" * 32))
OTHER = KeyPair.from_secret(bytes.fromhex("42" * 32))
OVERLAY = bytes.fromhex("a1" * 32)
OTHER_OVERLAY = bytes.fromhex("b2" * 32)
NOW = 1_800_000_000
EXPIRES = NOW + 86400


def binding(sequence=7, created_at=NOW - 10, expires_at=EXPIRES, keys=OWNER, overlay=OVERLAY):
    return make_binding(keys.secret, overlay, sequence, expires_at, created_at)


def signed(tags, keys=OWNER, created_at=NOW - 10, content="", kind=BINDING_KIND) -> Event:
    return sign_event(keys.secret, created_at, kind, tags, content)


def sdk_binding(overlay: bytes, sequence: int, expires_at: int, created_at: int,
                secret: bytes = OWNER.secret) -> bytes:
    """A binding made and signed by rust-nostr, as its NIP-01 JSON."""
    keys = nostr_sdk.Keys.parse(secret.hex())
    builder = nostr_sdk.EventBuilder(nostr_sdk.Kind(BINDING_KIND), "").tags([
        nostr_sdk.Tag.parse(["overlay", overlay.hex()]),
        nostr_sdk.Tag.parse(["seq", str(sequence)]),
        nostr_sdk.Tag.expiration(nostr_sdk.Timestamp.from_secs(expires_at)),
    ]).custom_created_at(nostr_sdk.Timestamp.from_secs(created_at))
    return builder.finalize(keys).as_json().encode("utf-8")


def with_sig(event: Event, sig: bytes) -> Event:
    return Event(event.id, event.pubkey, event.created_at, event.kind, event.tags,
                 event.content, sig)


class MakeAndVerifyTests(TestCase):
    def test_round_trip_through_the_wire_form(self):
        made = binding()
        blob = pack_binding(made)
        back = unpack_binding(blob)
        self.assertEqual((back.owner, back.overlay_key, back.sequence, back.expires_at),
                         (OWNER.public, OVERLAY, 7, EXPIRES))
        self.assertEqual(back, made)
        check_binding(back, OVERLAY, OWNER.public, NOW)
        self.assertEqual(BindingCache().verify(blob, OVERLAY, OWNER.public, NOW), made)

    def test_wire_size_with_ten_digit_sequence_and_expiry(self):
        # What `nostrp2p bind` makes (sequence = unix time); docs/BINDING.md states it.
        self.assertEqual(len(pack_binding(binding(sequence=NOW))), 259)

    def test_binding_signed_by_nostr_sdk_verifies(self):
        json_body = sdk_binding(OVERLAY, 3, EXPIRES, NOW - 5)
        parsed = binding_from_event(event_from_json_bytes(json_body))
        self.assertEqual((parsed.owner, parsed.overlay_key, parsed.sequence, parsed.expires_at),
                         (OWNER.public, OVERLAY, 3, EXPIRES))
        cached = BindingCache().verify(pack_binding(parsed), OVERLAY, OWNER.public, NOW)
        self.assertEqual(cached.sequence, 3)

    def test_our_binding_verifies_in_nostr_sdk(self):
        made = binding()
        sdk_event = nostr_sdk.Event.from_json(json.dumps(made.event.to_json()))
        self.assertTrue(sdk_event.verify())
        self.assertEqual(sdk_event.kind().as_u16(), BINDING_KIND)


class RefusedBindingTests(TestCase):
    def assertRefused(self, call, field):
        with self.assertRaises(BindingError) as caught:
            call()
        self.assertEqual(caught.exception.field, field)
        return caught.exception.reason

    def test_forged_signature(self):
        made = binding()
        forged = with_sig(made.event, bytes(64))
        self.assertRefused(lambda: unpack_binding(pack_event(forged)), "sig")
        # Signed by someone else but claiming the owner's pubkey: the same refusal.
        stolen = with_sig(made.event, binding(keys=OTHER).event.sig)
        self.assertRefused(lambda: BindingCache().verify(pack_event(stolen), OVERLAY,
                                                         OWNER.public, NOW), "sig")

    def test_altered_overlay_key_under_the_owners_signature(self):
        made = binding()
        tags = (("overlay", OTHER_OVERLAY.hex()),) + made.event.tags[1:]
        altered = Event(made.event.id, made.event.pubkey, made.event.created_at,
                        made.event.kind, tags, "", made.event.sig)
        self.assertRefused(lambda: BindingCache().verify(pack_event(altered), OTHER_OVERLAY,
                                                         OWNER.public, NOW), "id")

    def test_wrong_overlay_key(self):
        blob = pack_binding(binding())
        reason = self.assertRefused(
            lambda: BindingCache().verify(blob, OTHER_OVERLAY, OWNER.public, NOW), "tags")
        self.assertIn(OTHER_OVERLAY.hex(), reason)

    def test_wrong_owner(self):
        blob = pack_binding(binding(keys=OTHER))
        self.assertRefused(lambda: BindingCache().verify(blob, OVERLAY, OWNER.public, NOW),
                           "pubkey")

    def test_expired_at_its_expiration_time(self):
        blob = pack_binding(binding())
        BindingCache().verify(blob, OVERLAY, OWNER.public, EXPIRES - 1)
        reason = self.assertRefused(
            lambda: BindingCache().verify(blob, OVERLAY, OWNER.public, EXPIRES), "tags")
        self.assertIn("expired", reason)

    def test_malformed_bindings(self):
        good = (("overlay", OVERLAY.hex()), ("seq", "1"), ("expiration", str(EXPIRES)))
        cases = {
            "missing overlay": good[1:],
            "two overlay keys": good + (("overlay", OTHER_OVERLAY.hex()),),
            "uppercase hex": (("overlay", OVERLAY.hex().upper()),) + good[1:],
            "short key": (("overlay", "ab"),) + good[1:],
            "leading zero": (good[0], ("seq", "01"), good[2]),
            "negative": (good[0], ("seq", "-1"), good[2]),
            "no expiration": good[:2],
            "expires before made": good[:2] + (("expiration", str(NOW - 20)),),
        }
        for name, tags in cases.items():
            with self.subTest(name):
                self.assertRefused(lambda: binding_from_event(signed(tags)), "tags")
        self.assertRefused(lambda: binding_from_event(signed(good, kind=1)), "kind")
        bloated = signed(good, content="x" * limits.MAX_BINDING_BYTES)
        self.assertRefused(lambda: binding_from_event(bloated), "event")
        self.assertRefused(lambda: unpack_binding(pack_event(bloated)), "event")

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=400))
    def test_any_bytes_are_a_binding_or_a_binding_error(self, blob):
        try:
            BindingCache().verify(blob, OVERLAY, OWNER.public, NOW)
        except BindingError:
            pass


class NewestWinsTests(TestCase):
    def test_higher_sequence_wins_even_when_made_earlier(self):
        older, newer = binding(sequence=1, created_at=NOW), binding(sequence=2, created_at=NOW - 99)
        self.assertTrue(newer.supersedes(older))
        self.assertFalse(older.supersedes(newer))

    def test_same_sequence_later_created_at_wins(self):
        older, newer = binding(created_at=NOW - 20), binding(created_at=NOW - 10)
        self.assertTrue(newer.supersedes(older))
        self.assertFalse(older.supersedes(newer))

    def test_equal_ties_go_to_the_lower_id_and_a_binding_does_not_replace_itself(self):
        a, b = binding(), make_binding(OWNER.secret, OVERLAY, 7, EXPIRES, NOW - 10, content="x")
        low, high = sorted((a, b), key=lambda x: x.id)
        self.assertTrue(low.supersedes(high))
        self.assertFalse(high.supersedes(low))
        self.assertFalse(a.supersedes(a))


class CacheTests(TestCase):
    def setUp(self):
        self.checked = []
        real = signing.schnorr_verify

        def counting(pubkey, message, sig):
            self.checked.append(message)
            return real(pubkey, message, sig)

        self.patch(signing, "schnorr_verify", counting)

    def test_verifies_once_per_binding(self):
        cache = BindingCache()
        blob = pack_binding(binding())
        for _ in range(5):
            cache.verify(blob, OVERLAY, OWNER.public, NOW)
        self.assertEqual((len(self.checked), cache.verifications, cache.hits), (1, 1, 4))

    def test_a_mismatched_claim_costs_no_signature_check(self):
        cache = BindingCache()
        blob = pack_binding(binding())
        for overlay, owner, now in ((OTHER_OVERLAY, OWNER.public, NOW),
                                    (OVERLAY, OTHER.public, NOW), (OVERLAY, OWNER.public, EXPIRES)):
            self.assertRaises(BindingError, cache.verify, blob, overlay, owner, now)
        self.assertEqual((self.checked, len(cache)), ([], 0))
        # Once cached for its real claim, the same bytes still support no other claim.
        cache.verify(blob, OVERLAY, OWNER.public, NOW)
        for overlay, owner in ((OTHER_OVERLAY, OWNER.public), (OVERLAY, OTHER.public)):
            self.assertRaises(BindingError, cache.verify, blob, overlay, owner, NOW)
        self.assertEqual((len(self.checked), cache.hits), (1, 0))

    def test_expiry_is_checked_on_every_hit(self):
        cache = BindingCache()
        blob = pack_binding(binding())
        cache.verify(blob, OVERLAY, OWNER.public, NOW)
        self.assertRaises(BindingError, cache.verify, blob, OVERLAY, OWNER.public, EXPIRES)

    def test_a_forged_copy_first_does_not_keep_the_real_binding_out(self):
        cache = BindingCache()
        real = binding()
        forged = pack_event(with_sig(real.event, binding(keys=OTHER).event.sig))
        self.assertRaises(BindingError, cache.verify, forged, OVERLAY, OWNER.public, NOW)
        self.assertEqual(cache.verify(pack_binding(real), OVERLAY, OWNER.public, NOW), real)

    def test_a_forged_copy_of_a_cached_binding_gets_only_what_the_owner_signed(self):
        cache = BindingCache()
        real = binding()
        cache.verify(pack_binding(real), OVERLAY, OWNER.public, NOW)
        # Same id, but a far later expiry written in and no valid signature for it.
        tags = real.event.tags[:2] + (("expiration", str(EXPIRES * 2)),)
        forged = Event(real.id, real.owner, real.created_at, BINDING_KIND, tags, "", bytes(64))
        answer = cache.verify(pack_event(forged), OVERLAY, OWNER.public, NOW)
        self.assertEqual(answer.expires_at, EXPIRES)
        self.assertRaises(BindingError, cache.verify, pack_event(forged), OVERLAY,
                          OWNER.public, EXPIRES + 1)

    def test_bounded_least_recently_used_first_out(self):
        cache = BindingCache(max_entries=2)
        blobs = [pack_binding(binding(sequence=n)) for n in range(3)]
        for blob in blobs:
            cache.verify(blob, OVERLAY, OWNER.public, NOW)
        self.assertEqual(len(cache), 2)
        cache.verify(blobs[2], OVERLAY, OWNER.public, NOW)
        self.assertEqual(cache.verifications, 3)  # still cached
        cache.verify(blobs[0], OVERLAY, OWNER.public, NOW)
        self.assertEqual(cache.verifications, 4)  # was evicted: verified again
        self.assertEqual(limits.BINDINGS_CACHED, BindingCache().max_entries)
