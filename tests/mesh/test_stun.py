"""STUN Binding (RFC 5389): the RFC 5769 vectors, interoperation with an independent STUN
implementation (aioice), RFC 3489 clients, and the client transaction's retransmissions."""

import struct

from aioice import stun as independent
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from nostrp2p.mesh import limits, stun
from tests.vectors import path


def _rfc5769():
    rows = {}
    for line in path("rfc5769.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, hexdata = line.split("\t")
            rows[name] = bytes.fromhex(hexdata)
    return rows


TXID = bytes.fromhex("b7e7a701bc34d686fa87dfae")


class RFC5769Tests(TestCase):
    def test_ipv4_response(self):
        message = stun.decode(_rfc5769()["respv4"])
        self.assertEqual(message.msg_type, stun.BINDING_SUCCESS)
        self.assertEqual(message.transaction_id, TXID)
        self.assertEqual(stun.mapped_address(message), ("192.0.2.1", 32853))

    def test_ipv6_response(self):
        message = stun.decode(_rfc5769()["respv6"])
        self.assertEqual(
            stun.mapped_address(message), ("2001:db8:1234:5678:11:2233:4455:6677", 32853)
        )

    def test_request_parses_with_its_fingerprint(self):
        message = stun.decode(_rfc5769()["request"])
        self.assertTrue(message.is_request)
        self.assertEqual(message.get(stun.SOFTWARE), b"STUN test client")

    def test_every_corrupted_byte_is_caught(self):
        # Any single flipped bit after the header breaks the fingerprint (or the structure),
        # except in the FINGERPRINT attribute's own type: then the message simply has no
        # fingerprint, which RFC 5389 allows.
        data = _rfc5769()["respv4"]
        fingerprint_type = (len(data) - 8, len(data) - 7)
        for i in range(stun.HEADER_SIZE, len(data)):
            if i in fingerprint_type:
                continue
            corrupt = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
            with self.assertRaises(stun.StunError):
                stun.decode(corrupt)

    def test_our_xor_address_encoding_matches_the_vector(self):
        self.assertEqual(
            stun.encode_address("192.0.2.1", 32853, TXID),
            _rfc5769()["respv4"][40:48],
        )


class InteropTests(TestCase):
    def test_independent_client_reads_our_answer(self):
        request = independent.Message(independent.Method.BINDING, independent.Class.REQUEST)
        reply = stun.answer(bytes(request), ("198.51.100.7", 40000))
        parsed = independent.parse_message(reply)
        self.assertEqual(parsed.transaction_id, request.transaction_id)
        self.assertEqual(parsed.message_class, independent.Class.RESPONSE)
        self.assertEqual(parsed.attributes["XOR-MAPPED-ADDRESS"], ("198.51.100.7", 40000))
        self.assertEqual(
            struct.unpack("!I", reply[-4:])[0], independent.message_fingerprint(reply[:-8])
        )

    def test_ipv6_source(self):
        request = independent.Message(independent.Method.BINDING, independent.Class.REQUEST)
        reply = independent.parse_message(stun.answer(bytes(request), ("2001:db8::5", 7)))
        self.assertEqual(reply.attributes["XOR-MAPPED-ADDRESS"], ("2001:db8::5", 7))

    def test_we_read_an_independent_server_answer(self):
        transaction = stun.BindingTransaction(now=0.0)
        asked = independent.parse_message(transaction.datagram())
        response = independent.Message(
            independent.Method.BINDING, independent.Class.RESPONSE,
            transaction_id=asked.transaction_id,
            attributes={"XOR-MAPPED-ADDRESS": ("203.0.113.9", 5555)},
        )
        data = bytes(response)
        data = data[:2] + struct.pack("!H", len(data) - 20 + 8) + data[4:]
        data += struct.pack("!HHI", stun.FINGERPRINT, 4, independent.message_fingerprint(data))
        self.assertTrue(transaction.on_response(stun.decode(data)))
        self.assertEqual(transaction.result, ("203.0.113.9", 5555))

    def test_rfc3489_client_gets_mapped_address(self):
        txid = bytes(range(16))
        reply = stun.answer(struct.pack("!HH", 0x0001, 0) + txid, ("192.0.2.44", 1234))
        # RFC 3489 layout: type, length, the 16-byte id echoed (no cookie), MAPPED-ADDRESS.
        self.assertEqual(struct.unpack("!HH", reply[:4]), (stun.BINDING_SUCCESS, 12))
        self.assertEqual(reply[4:20], txid)
        self.assertEqual(struct.unpack("!HH", reply[20:24]), (stun.MAPPED_ADDRESS, 8))
        self.assertEqual(stun.decode_address(reply[24:32], None), ("192.0.2.44", 1234))

    def test_unknown_required_attribute_gets_420(self):
        request = stun.encode(stun.BINDING_REQUEST, TXID, [(0x0024, b"\x00" * 4), (0x7777, b"x")])
        reply = stun.decode(stun.answer(request, ("192.0.2.1", 1)))
        self.assertEqual(reply.msg_type, stun.BINDING_ERROR)
        self.assertEqual(reply.get(stun.ERROR_CODE)[2:4], bytes([4, 20]))
        self.assertEqual(reply.get(stun.UNKNOWN_ATTRIBUTES), b"\x00\x24\x77\x77")

    def test_responses_and_indications_are_not_answered(self):
        self.assertIsNone(stun.answer(_rfc5769()["respv4"], ("192.0.2.1", 1)))


class DemultiplexTests(TestCase):
    def test_overlay_frames_are_never_stun(self):
        for first in range(0x40, 0x100):
            self.assertFalse(stun.looks_like_stun(bytes([first]) + bytes(30)))

    def test_stun_is_recognised(self):
        self.assertTrue(stun.looks_like_stun(stun.binding_request()))
        self.assertTrue(stun.looks_like_stun(_rfc5769()["respv6"]))

    @settings(max_examples=500, deadline=None)
    @given(st.binary(max_size=120))
    def test_garbage_raises_only_stun_error(self, data):
        try:
            stun.answer(data, ("192.0.2.1", 1))
        except stun.StunError:
            pass


class TransactionTests(TestCase):
    def test_rfc5389_retransmission_schedule_then_timeout(self):
        transaction = stun.BindingTransaction(now=0.0)
        sends = [0.0]
        while transaction.deadline is not None:
            now = transaction.deadline
            if transaction.on_timer(now) is not None:
                sends.append(now)
        # RFC 5389 7.2.1: sent at 0, 500, 1500, ..., 31500 ms; fails at 39500 ms.
        self.assertEqual(sends, [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5])
        self.assertEqual(now, 39.5)
        self.assertTrue(transaction.failed)

    def test_other_transactions_answers_are_ignored(self):
        transaction = stun.BindingTransaction(now=0.0)
        other = stun.decode(stun.answer(stun.binding_request(), ("192.0.2.1", 9)))
        self.assertFalse(transaction.on_response(other))
        self.assertIsNone(transaction.result)


class AmplificationTests(TestCase):
    """A STUN answer goes to a source that proved nothing: it must not make us an amplifier."""

    BARE = stun.encode(stun.BINDING_REQUEST, TXID, fingerprint=False)  # 20 bytes, as scanners send

    def test_answers_do_not_name_the_software(self):
        for request in (self.BARE, stun.binding_request(),
                        stun.encode(stun.BINDING_REQUEST, TXID, [(0x0024, b"\x00" * 4)])):
            reply = stun.decode(stun.answer(request, ("192.0.2.1", 1)))
            self.assertIsNone(reply.get(stun.SOFTWARE))
            self.assertNotIn(b"NostrP2P", stun.answer(request, ("192.0.2.1", 1)))

    def test_our_requests_are_never_smaller_than_the_answer(self):
        request = stun.binding_request()
        for source in (("192.0.2.1", 1), ("2001:db8::1", 1)):
            self.assertLessEqual(len(stun.answer(request, source)), len(request))
        self.assertEqual(len(request), stun.LARGEST_ANSWER)

    def test_a_flood_of_bare_requests_gets_back_less_than_it_sent(self):
        responder = stun.Responder()
        source = ("2001:db8::66", 4000)  # the largest answers
        received = sent = 0
        for i in range(3000):  # 1,000 a second for 3 s
            reply = responder.answer(self.BARE, source, i / 1000)
            received += len(self.BARE)
            sent += len(reply or b"")
        self.assertLessEqual(sent / received, 1.0)
        self.assertEqual(responder.stats["stun_answered"], limits.STUN_LARGER_ANSWERS_PER_MINUTE)
        self.assertGreater(responder.stats["drop_stun_over_rate"], 2900)

    def test_padded_requests_are_answered_at_their_own_rate_and_other_sources_unaffected(self):
        responder = stun.Responder()
        flooder, other = ("192.0.2.66", 4000), ("192.0.2.67", 4000)
        request = stun.binding_request()
        answered = sum(responder.answer(request, flooder, i / 1000) != stun.Responder.REFUSED
                       for i in range(10000))  # 10 s at 1,000 a second
        self.assertEqual(answered, 10 * limits.STUN_ANSWERS_PER_SECOND_PER_SOURCE)
        self.assertNotEqual(responder.answer(self.BARE, other, 10.0), stun.Responder.REFUSED)
        self.assertNotEqual(responder.answer(request, flooder, 11.0), stun.Responder.REFUSED)

    def test_sources_tracked_are_bounded(self):
        responder = stun.Responder()
        for i in range(limits.STUN_SOURCES_TRACKED + 100):
            responder.answer(self.BARE, (f"10.0.{i >> 8}.{i & 255}", 1), 0.0)
        self.assertEqual(len(responder.answers), limits.STUN_SOURCES_TRACKED)
        self.assertEqual(len(responder.larger), limits.STUN_SOURCES_TRACKED)
