"""Bad input over the WebSocket: every malformed message gets its NIP-01 answer (NOTICE, OK
false or CLOSED with a machine-readable prefix), and the server keeps serving the same
connection and others."""

import json

from twisted.trial import unittest

from nostrp2p.api import limits

from ..helpers import async_test, post
from .helpers import connect, start_relay


async def still_serves(testcase, relay, client):
    """The connection (and a fresh one) still answer a REQ and take an EVENT."""
    client.send_json(["REQ", "alive", {"limit": 1}])
    await client.until_eose("alive")
    other = await connect(testcase, relay)
    event = post(1732400000 + len(relay.relay.hub.connections), "still here")
    other.send_json(["EVENT", event.to_json()])
    answer = await other.next_of("OK")
    testcase.assertEqual(answer[:2], ["OK", event.id_hex])
    testcase.assertTrue(answer[2], answer)


class MalformedMessageTests(unittest.TestCase):
    async def _answer(self, relay, client, payload: bytes, binary=False):
        client.send_raw(payload, binary)
        answer = await client.next()
        while answer[0] == "AUTH":  # the challenge sent on connect
            answer = await client.next()
        return answer

    @async_test
    async def test_each_malformed_message_gets_a_notice(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        cases = [
            b"{not json",
            b"\xff\xfe",
            b"NaN",
            b'{"EVENT": 1}',
            b"[]",
            b"[1, 2]",
            b'["COUNT", "x", {}]',
            b'["HELLO"]',
            b'["EVENT"]',
            b'["EVENT", {"id": 5}]',
            b'["REQ"]',
            b'["REQ", 7, {}]',
            b'["REQ", ""]',
            json.dumps(["REQ", "x" * 65, {}]).encode(),
            b'["CLOSE"]',
            b'["CLOSE", "a", "b"]',
            b"[" * 100_000 + b"]" * 100_000,
        ]
        for payload in cases:
            answer = await self._answer(relay, client, payload)
            self.assertEqual(answer[0], "NOTICE", (payload[:40], answer))
            self.assertTrue(answer[1].startswith("invalid: "), (payload[:40], answer))
        answer = await self._answer(relay, client, b'["REQ","x",{}]', binary=True)
        self.assertEqual(answer[0], "NOTICE")
        await still_serves(self, relay, client)

    @async_test
    async def test_a_bad_event_with_a_readable_id_gets_ok_false(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        event = post(1732400000).to_json()
        forged = dict(event, content="changed after signing")
        answer = await self._answer(relay, client, json.dumps(["EVENT", forged]).encode())
        self.assertEqual(answer[:3], ["OK", event["id"], False])
        self.assertTrue(answer[3].startswith("invalid: id"), answer)
        bad_sig = dict(event, sig="00" * 64)
        answer = await self._answer(relay, client, json.dumps(["EVENT", bad_sig]).encode())
        self.assertEqual(answer[:3], ["OK", event["id"], False])
        self.assertTrue(answer[3].startswith("invalid: sig"), answer)
        self.assertEqual(await relay.store.count(), 0)
        await still_serves(self, relay, client)

    @async_test
    async def test_bad_filters_get_closed_naming_the_filter(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        cases = {
            b'["REQ","a"]': "invalid: a REQ needs",
            b'["REQ","a",[]]': "invalid: filter 0: filter",
            b'["REQ","a",{},{"authors":["xyz"]}]': "invalid: filter 1: authors[0]",
            b'["REQ","a",{"kinds":"1"}]': "invalid: filter 0: kinds",
            b'["REQ","a",{"since":1.5}]': "invalid: filter 0: since",
            b'["REQ","a",{"#t":[1]}]': "invalid: filter 0: #t",
            json.dumps(["REQ", "a"] + [{}] * (limits.MAX_FILTERS + 1)).encode():
                f"invalid: {limits.MAX_FILTERS + 1} filters",
        }
        for payload, prefix in cases.items():
            answer = await self._answer(relay, client, payload)
            self.assertEqual(answer[:2], ["CLOSED", "a"], (payload, answer))
            self.assertTrue(answer[2].startswith(prefix), (payload, answer))
        await still_serves(self, relay, client)

    @async_test
    async def test_a_message_over_the_size_limit_is_refused_and_the_socket_closed(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        await client.next_of("AUTH")
        huge = json.dumps(["EVENT", {"content": "x" * limits.MAX_MESSAGE_BYTES}]).encode()
        client.send_raw(huge)
        answer = await client.next()
        self.assertEqual(answer[0], "NOTICE")
        self.assertTrue(answer[1].startswith("invalid: message over the limit"), answer)
        code, _ = await client.closed
        self.assertEqual(code, 1009)
        await still_serves(self, relay, await connect(self, relay))


class FailingStore:
    """A store whose every read and write fails, as a restarting Redis would."""

    async def add(self, event):
        raise ConnectionError("redis is restarting")

    async def query(self, event_filter):
        raise ConnectionError("redis is restarting")

    def __getattr__(self, name):
        async def fail(*args):
            raise ConnectionError("redis is restarting")
        return fail


class StoreFailureTests(unittest.TestCase):
    @async_test
    async def test_a_failing_store_is_an_error_answer_not_a_dropped_connection(self):
        relay = await start_relay(self, store=FailingStore())
        client = await connect(self, relay)
        event = post(1732400000)
        client.send_json(["EVENT", event.to_json()])
        answer = await client.next_of("OK")
        self.assertEqual(answer[:3], ["OK", event.id_hex, False])
        self.assertTrue(answer[3].startswith("error: store"), answer)
        client.send_json(["REQ", "r", {"kinds": [1]}])
        answer = await client.next_of("CLOSED")
        self.assertEqual(answer[1], "r")
        self.assertTrue(answer[2].startswith("error: "), answer)
        client.send_json(["CLOSE", "r"])
        self.assertEqual(await client.next_of("CLOSED"), ["CLOSED", "r", ""])
