"""NIP-01 ids: the canonical serialisation must match every other Nostr implementation."""

import hashlib
import json

from twisted.trial.unittest import TestCase

from nostrp2p.nostr.event import canonical_json, compute_id

PUBKEY = bytes.fromhex("7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e")


class CanonicalJSONTests(TestCase):
    def test_layout_has_no_whitespace(self):
        self.assertEqual(
            canonical_json(PUBKEY, 1, 1, (("p", "x"), ("e", "y", "", "root")), "hi"),
            b'[0,"' + PUBKEY.hex().encode() + b'",1,1,[["p","x"],["e","y","","root"]],"hi"]',
        )

    def test_the_seven_escapes_of_nip01(self):
        content = 'a\nb"c\\d\re\tf\bg\fh'
        self.assertEqual(
            canonical_json(PUBKEY, 0, 1, (), content).split(b",", 5)[5],
            b'"a\\nb\\"c\\\\d\\re\\tf\\bg\\fh"]',
        )

    def test_other_control_characters_are_verbatim(self):
        # json.dumps would write \u0001 and so compute a different id from other implementations.
        self.assertIn(b'"x\x01y\x1fz"', canonical_json(PUBKEY, 0, 1, (), "x\x01y\x1fz"))

    def test_non_ascii_is_raw_utf8(self):
        text = "héllo 日本語 😀 𝄞"
        self.assertIn(text.encode("utf-8"), canonical_json(PUBKEY, 0, 1, (), text))

    def test_escaping_applies_to_tags_too(self):
        self.assertIn(b'[["t","a\\"b\\n"]]', canonical_json(PUBKEY, 0, 1, (("t", 'a"b\n'),), ""))

    def test_matches_json_dumps_where_json_dumps_is_canonical(self):
        # For text without control characters other than the escaped seven, NIP-01 and
        # json.dumps(ensure_ascii=False, separators=(",", ":")) agree: an independent check.
        content = 'quote " backslash \\ newline \n tab \t emoji 😀 non-BMP 𝄞 ' + "é"
        tags = (("e", "ab" * 32, "", "root"), ("p", "cd" * 32))
        independent = json.dumps(
            [0, PUBKEY.hex(), 1732400000, 1, [list(t) for t in tags], content],
            ensure_ascii=False, separators=(",", ":"),
        ).encode("utf-8")
        self.assertEqual(canonical_json(PUBKEY, 1732400000, 1, tags, content), independent)
        self.assertEqual(
            compute_id(PUBKEY, 1732400000, 1, tags, content), hashlib.sha256(independent).digest()
        )

    def test_known_event_id(self):
        # A kind 1 event as published by common Nostr clients (id computed by them).
        self.assertEqual(
            compute_id(PUBKEY, 1700000000, 1, (), "hello nostr").hex(),
            hashlib.sha256(
                b'[0,"7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e",'
                b'1700000000,1,[],"hello nostr"]'
            ).hexdigest(),
        )
