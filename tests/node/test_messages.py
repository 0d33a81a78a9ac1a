"""Node messages between servers: round trips, and nothing but MessageError for garbage."""

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from nostrp2p.node.messages import (
    EventsMessage, MessageError, Request, decode, encode_events, encode_request,
)
from tests.nostr.strategies import events


class MessageTests(TestCase):
    @settings(max_examples=30, deadline=None)
    @given(st.lists(events(), max_size=4))
    def test_events_round_trip(self, evs):
        self.assertEqual(decode(encode_events(evs)), EventsMessage(tuple(evs)))

    def test_requests_round_trip(self):
        for request in [Request("profile"), Request("follows"), Request("post", b"\x01" * 32),
                        Request("share", 1732400000)]:
            self.assertEqual(decode(encode_request(request)), request)

    def test_malformed_requests(self):
        for what, arg in [("post", b"short"), ("share", -1), ("share", True), ("profile", 5),
                          ("delete-everything", None)]:
            with self.assertRaises(MessageError):
                decode(msgpack.packb([1, 2, what, arg], use_bin_type=True))

    def test_wrong_version_and_type(self):
        for message in [[2, 1, []], [1, 9, []], [1], "x", {}]:
            with self.assertRaises(MessageError):
                decode(msgpack.packb(message, use_bin_type=True))

    @settings(max_examples=400, deadline=None)
    @given(st.binary(max_size=300))
    def test_garbage_raises_only_message_error(self, payload):
        try:
            decode(payload)
        except MessageError:
            pass


class SizeBoundTests(TestCase):
    def test_encode_within_keeps_the_longest_prefix_that_fits(self):
        from nostrp2p.node.messages import encode_events_within
        from tests.store.events import make_event

        evs = [make_event(content="x" * 10_000, created_at=1_700_000_000 + n) for n in range(10)]
        whole = encode_events(evs)
        payload, count = encode_events_within(evs, len(whole))
        self.assertEqual((payload, count), (whole, 10))
        payload, count = encode_events_within(evs, len(whole) - 1)
        self.assertEqual(count, 9)
        self.assertEqual(decode(payload), EventsMessage(tuple(evs[:9])))
        for limit in (35_000, 50_000, 100_000):
            payload, count = encode_events_within(evs, limit)
            self.assertLessEqual(len(payload), limit)
            self.assertEqual(decode(payload).events, tuple(evs[:count]))
            self.assertGreater(len(encode_events(evs[:count + 1])), limit)
        self.assertEqual(encode_events_within(evs, 100), (encode_events([]), 0))

    def test_too_many_events_in_one_message_is_malformed(self):
        from nostrp2p.node.limits import MAX_EVENTS_PER_MESSAGE
        from tests.store.events import make_event

        fields = msgpack.unpackb(encode_events([make_event()]))[2][0]
        ok = msgpack.packb([1, 1, [fields] * MAX_EVENTS_PER_MESSAGE], use_bin_type=True)
        self.assertEqual(len(decode(ok).events), MAX_EVENTS_PER_MESSAGE)
        with self.assertRaises(MessageError):
            decode(msgpack.packb([1, 1, [fields] * (MAX_EVENTS_PER_MESSAGE + 1)],
                                 use_bin_type=True))

    def test_a_payload_larger_than_the_overlay_carries_is_refused_unread(self):
        from nostrp2p.node.messages import MAX_PAYLOAD_BYTES

        with self.assertRaises(MessageError):
            decode(encode_request(Request("profile")) + b"\x00" * MAX_PAYLOAD_BYTES)
