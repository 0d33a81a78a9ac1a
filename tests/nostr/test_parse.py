"""A client's JSON event: accepted when valid, refused with the field and reason otherwise."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from nostrp2p.nostr import EventError, event_from_json, event_from_json_bytes, limits, sign_event
from tests.nostr.strategies import events

SECRET = b"\x07" * 32


def _valid():
    return sign_event(SECRET, 1732400000, 1, [["p", "ab" * 32]], "hello").to_json()


class ParseTests(TestCase):
    def assertRefused(self, obj, field, reason_part=""):
        with self.assertRaises(EventError) as caught:
            event_from_json(obj)
        self.assertEqual(caught.exception.field, field, str(caught.exception))
        self.assertIn(reason_part, caught.exception.reason)

    def test_valid_event_round_trips(self):
        obj = _valid()
        self.assertEqual(event_from_json(obj).to_json(), obj)

    def test_huge_integer_is_a_json_error(self):
        # Python's int parser refuses 4,301+ digits with a bare ValueError: still a 400, not a 500.
        body = json.dumps(_valid()).replace('"kind": 1', '"kind": ' + "9" * 5000).encode()
        with self.assertRaises(EventError) as caught:
            event_from_json_bytes(body)
        self.assertEqual(caught.exception.field, "json")

    def test_missing_field(self):
        obj = _valid()
        del obj["sig"]
        self.assertRefused(obj, "sig", "missing")

    def test_wrong_types(self):
        for field, value in [("kind", "1"), ("kind", True), ("created_at", 1.5), ("tags", {}),
                             ("content", 5), ("id", None), ("pubkey", 7)]:
            obj = _valid()
            obj[field] = value
            self.assertRefused(obj, field, "must be")

    def test_wrong_lengths_and_hex(self):
        obj = _valid()
        obj["id"] = obj["id"][:-2]
        self.assertRefused(obj, "id", "64 hex characters")
        obj = _valid()
        obj["sig"] = "zz" + obj["sig"][2:]
        self.assertRefused(obj, "sig", "hexadecimal")
        obj = _valid()
        obj["pubkey"] = obj["pubkey"].upper()
        self.assertRefused(obj, "pubkey", "lowercase")

    def test_id_mismatch_and_bad_signature(self):
        obj = _valid()
        obj["content"] = "changed"
        self.assertRefused(obj, "id", "does not match")
        obj = _valid()
        obj["sig"] = ("0" if obj["sig"][0] != "0" else "1") + obj["sig"][1:]
        self.assertRefused(obj, "sig", "BIP-340")

    def test_out_of_range_numbers(self):
        for field, value in [("kind", -1), ("kind", 70000), ("created_at", -5), ("created_at", 10**30)]:
            obj = _valid()
            obj[field] = value
            self.assertRefused(obj, field, "between")

    def test_oversize_content_and_tags(self):
        obj = _valid()
        obj["content"] = "x" * (limits.MAX_CONTENT_BYTES + 1)
        self.assertRefused(obj, "content", "over the limit")
        obj = _valid()
        obj["tags"] = [["t", "x"]] * (limits.MAX_TAGS + 1)
        self.assertRefused(obj, "tags", "over the limit")
        obj = _valid()
        obj["tags"] = [["t", "x" * (limits.MAX_TAG_ELEMENT_BYTES + 1)]]
        self.assertRefused(obj, "tags[0][1]", "over the limit")
        obj = _valid()
        obj["tags"] = [["t"] * (limits.MAX_TAG_ELEMENTS + 1)]
        self.assertRefused(obj, "tags[0]", "over the limit")

    def test_lone_surrogate_is_refused(self):
        obj = _valid()
        obj["content"] = "\ud800"
        self.assertRefused(obj, "content", "surrogate")

    def test_bytes_level_errors(self):
        for body, reason in [(b"\xff{}", "UTF-8"), (b'{"a":', "malformed"), (b"NaN", "NaN"),
                             (b"[" * 100000 + b"]" * 100000, "deeply"),
                             (b"1" * (limits.MAX_EVENT_JSON_BYTES + 1), "over the limit")]:
            with self.assertRaises(EventError) as caught:
                event_from_json_bytes(body)
            self.assertIn(reason, str(caught.exception))


class ParseProperties(TestCase):
    @settings(max_examples=60, deadline=None)
    @given(events())
    def test_any_signed_event_survives_json(self, event):
        body = json.dumps(event.to_json(), ensure_ascii=False).encode("utf-8")
        self.assertEqual(event_from_json_bytes(body), event)

    @settings(max_examples=300, deadline=None)
    @given(st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    ))
    def test_arbitrary_json_is_refused_cleanly(self, obj):
        # Whatever a client sends, the parser either refuses it with an EventError or (never, for
        # random input) accepts it: no other exception may escape to the REST layer.
        try:
            event_from_json(obj)
        except EventError:
            pass

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200))
    def test_arbitrary_bytes_are_refused_cleanly(self, body):
        try:
            event_from_json_bytes(body)
        except EventError:
            pass
