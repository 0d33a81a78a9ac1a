"""The mobile client's MessagePack form and the compact packed form, both ways."""

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from nostrp2p.nostr import EventError, limits, sign_event
from nostrp2p.nostr.client_wire import decode_events_answer, encode_events_answer, event_to_client
from nostrp2p.nostr.codec import pack_event, unpack_event
from tests.nostr.strategies import events

EVENT = sign_event(b"\x09" * 32, 1732400000, 1, [["e", "ab" * 32, "", "root"], ["q"]], "hé 😀")


class ClientWireTests(TestCase):
    def test_types_are_what_the_client_decodes(self):
        answer = msgpack.unpackb(encode_events_answer([EVENT]), raw=True)
        self.assertEqual(list(answer), [b"Evts"])  # keys are msgpack str, not bin
        raw = answer[b"Evts"][0]
        self.assertEqual(
            set(raw), {b"Id", b"Pubkey", b"Created_at", b"Kind", b"Tags", b"Content", b"Sig"}
        )
        self.assertEqual(raw[b"Id"], EVENT.id)
        self.assertEqual(raw[b"Pubkey"], EVENT.pubkey)
        self.assertEqual(raw[b"Sig"], EVENT.sig)
        self.assertIsInstance(raw[b"Created_at"], float)
        self.assertIsInstance(raw[b"Kind"], int)

    def test_strings_are_str_and_bytes_are_bin(self):
        # raw=False turns msgpack str into Python str and leaves bin as bytes: exactly the
        # distinction the client's decoder makes.
        obj = msgpack.unpackb(encode_events_answer([EVENT]), raw=False)["Evts"][0]
        self.assertIsInstance(obj["Content"], str)
        self.assertEqual(obj["Tags"], [[b"e", b"ab" * 32, b"", b"root"], [b"q"]])
        for name in ("Id", "Pubkey", "Sig"):
            self.assertIsInstance(obj[name], bytes)

    def test_round_trip(self):
        self.assertEqual(decode_events_answer(encode_events_answer([EVENT, EVENT])), [EVENT] * 2)

    def test_tag_element_as_str_is_refused(self):
        obj = event_to_client(EVENT)
        obj["Tags"] = [["e", "x"]]
        with self.assertRaises(EventError) as caught:
            decode_events_answer(msgpack.packb({"Evts": [obj]}, use_bin_type=True))
        self.assertEqual(caught.exception.field, "Tags[0][0]")

    @settings(max_examples=50, deadline=None)
    @given(st.lists(events(), max_size=3))
    def test_any_events_round_trip(self, evs):
        self.assertEqual(decode_events_answer(encode_events_answer(evs)), evs)


class PackedFormTests(TestCase):
    def test_round_trip_and_smaller_than_json(self):
        blob = pack_event(EVENT)
        self.assertEqual(unpack_event(blob), EVENT)
        self.assertLess(len(blob), len(str(EVENT.to_json()).encode()))

    @settings(max_examples=50, deadline=None)
    @given(events())
    def test_any_event_round_trips(self, event):
        self.assertEqual(unpack_event(pack_event(event)), event)

    @settings(max_examples=400, deadline=None)
    @given(st.binary(max_size=300))
    def test_garbage_raises_only_event_error(self, blob):
        try:
            unpack_event(blob)
        except EventError:
            pass

    def test_truncated_blob_is_refused(self):
        blob = pack_event(EVENT)
        for cut in range(0, len(blob), 7):
            with self.assertRaises(EventError):
                unpack_event(blob[:cut])

    def test_text_bounds_hold_in_bytes_at_every_length(self):
        # The decoder skips counting bytes for text short in characters: text long in
        # characters but within the byte bound still decodes, text over it is refused, whether
        # its characters take one byte or four.
        def packed(tag_element: str, content: str) -> bytes:
            fields = [EVENT.id, EVENT.pubkey, EVENT.created_at, EVENT.kind, [["t", tag_element]],
                      content, EVENT.sig]
            return msgpack.packb(fields, use_bin_type=True)

        element_max, content_max = limits.MAX_TAG_ELEMENT_BYTES, limits.MAX_CONTENT_BYTES
        for char, size in (("a", 1), ("\U0001F600", 4)):
            fits = char * (element_max // size)
            self.assertEqual(unpack_event(packed(fits, "x")).tags, (("t", fits),))
            with self.assertRaises(EventError) as refused:
                unpack_event(packed(fits + "a", "x"))
            self.assertIn("over the limit", str(refused.exception))
            fits = char * (content_max // size)
            self.assertEqual(unpack_event(packed("x", fits)).content, fits)
            with self.assertRaises(EventError):
                unpack_event(packed("x", fits + "a"))

    def test_wrong_types_are_refused_by_name(self):
        good = [EVENT.id, EVENT.pubkey, EVENT.created_at, EVENT.kind, [list(t) for t in EVENT.tags],
                EVENT.content, EVENT.sig]
        for index, value, field in ((2, True, "created_at"), (3, 1.0, "kind"), (3, -1, "kind"),
                                    (4, [["t", b"bytes"]], "tags[0][1]"), (4, ["t"], "tags[0]"),
                                    (5, b"bytes", "content"), (6, EVENT.sig[:63], "sig")):
            fields = list(good)
            fields[index] = value
            with self.assertRaises(EventError) as refused:
                unpack_event(msgpack.packb(fields, use_bin_type=True))
            self.assertEqual(refused.exception.field, field)
