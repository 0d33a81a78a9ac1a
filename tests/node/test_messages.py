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
