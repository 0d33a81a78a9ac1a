"""Publish through /publish, read back through /req, decoded as the client decodes it."""

import gzip
import json

import msgpack
from twisted.trial import unittest

from nostrp2p.nostr import TIMELINE_KIND
from nostrp2p.nostr.client_wire import decode_events_answer

from .helpers import (OWNER, REQ_HEADERS, STRANGER, async_test, post, start_api)

CLIENT_KEYS = {"Id", "Pubkey", "Created_at", "Kind", "Tags", "Content", "Sig"}
FIRST_POLL = {"kinds": [TIMELINE_KIND], "since": -1, "until": -1, "limit": 300}


async def read_events(api, event_filter, headers=None):
    """The raw maps of a /req answer, unpacked with the client's expectations."""
    response = await api.req(event_filter, headers)
    assert response.code == 200, response.code
    assert response.headers.getRawHeaders("content-type") == ["application/octet-stream"]
    body = await response.content()
    answer = msgpack.unpackb(body, raw=False)
    assert list(answer) == ["Evts"], answer
    return answer["Evts"], body


class PublishThenReadTests(unittest.TestCase):
    @async_test
    async def test_published_post_is_in_the_timeline_with_client_types(self):
        api = await start_api(self)
        event = post(1732400000, "hello", tags=[["p", STRANGER.public.hex()], ["q"]])
        response = await api.publish(event)
        self.assertEqual(response.code, 200)
        self.assertEqual(json.loads(await response.content()), {"Status": "SUCCESS"})
        self.assertEqual(api.node.published_events, [event])

        evts, body = await read_events(api, FIRST_POLL)
        self.assertEqual(len(evts), 1)
        got = evts[0]
        self.assertEqual(set(got), CLIENT_KEYS)
        self.assertIsInstance(got["Id"], bytes)
        self.assertEqual(got["Id"], event.id)
        self.assertIsInstance(got["Pubkey"], bytes)
        self.assertEqual(got["Pubkey"], OWNER.public)
        self.assertIsInstance(got["Created_at"], float)
        self.assertEqual(got["Created_at"], 1732400000.0)
        self.assertIs(type(got["Kind"]), int)
        self.assertEqual(got["Tags"], [[b"p", STRANGER.public.hex().encode()], [b"q"]])
        self.assertTrue(all(isinstance(e, bytes) for tag in got["Tags"] for e in tag))
        self.assertIsInstance(got["Content"], str)
        self.assertEqual(got["Content"], "hello")
        self.assertIsInstance(got["Sig"], bytes)
        self.assertEqual(len(got["Sig"]), 64)
        self.assertEqual(decode_events_answer(body), [event])

    @async_test
    async def test_duplicate_publish_succeeds_and_is_delivered_once(self):
        api = await start_api(self)
        event = post(1732400000)
        self.assertEqual((await api.publish(event)).code, 200)
        self.assertEqual((await api.publish(event)).code, 200)
        self.assertEqual(api.node.published_events, [event])
        self.assertEqual(await api.store.count(), 1)

    @async_test
    async def test_post_by_id_and_author(self):
        api = await start_api(self)
        wanted, other = post(1732400000, "one"), post(1732400001, "two")
        for event in (wanted, other):
            await api.publish(event)
        event_filter = {"kinds": [1], "ids": [wanted.id_hex], "authors": [OWNER.public.hex()]}
        evts, body = await read_events(api, event_filter)
        self.assertEqual(decode_events_answer(body), [wanted])
        (asked, held), = api.node.wanted_calls
        self.assertEqual(asked.ids, frozenset({wanted.id}))
        self.assertEqual(held, [wanted])

    @async_test
    async def test_missing_post_answers_empty_and_asks_the_node(self):
        api = await start_api(self)
        missing = post(1732400000, "elsewhere", keys=STRANGER)
        event_filter = {"kinds": [1], "ids": [missing.id_hex], "authors": [STRANGER.public.hex()]}
        evts, _ = await read_events(api, event_filter)
        self.assertEqual(evts, [])
        (asked, held), = api.node.wanted_calls
        self.assertEqual(asked.ids, frozenset({missing.id}))
        self.assertEqual(asked.authors, frozenset({STRANGER.public}))
        self.assertEqual(held, [])

    @async_test
    async def test_profile_is_the_newest_only(self):
        api = await start_api(self)
        old = post(1732400000, json.dumps({"name": "old"}), kind=0)
        new = post(1732400100, json.dumps({"name": "new"}), kind=0)
        for event in (new, old):
            self.assertEqual((await api.publish(event)).code, 200)
        _, body = await read_events(api, {"kinds": [0], "authors": [OWNER.public.hex()]})
        self.assertEqual(decode_events_answer(body), [new])
        self.assertEqual(len(api.node.wanted_calls), 1)

    @async_test
    async def test_follow_list(self):
        api = await start_api(self)
        follows = post(1732400000, "", kind=3, tags=[["p", STRANGER.public.hex()]])
        self.assertEqual((await api.publish(follows)).code, 200)
        evts, body = await read_events(api, {"kinds": [3], "authors": [OWNER.public.hex()]})
        self.assertEqual(decode_events_answer(body), [follows])
        self.assertEqual(evts[0]["Tags"], [[b"p", STRANGER.public.hex().encode()]])

    @async_test
    async def test_unknown_profile_answers_empty_and_asks_the_node(self):
        api = await start_api(self)
        evts, _ = await read_events(api, {"kinds": [0], "authors": [STRANGER.public.hex()]})
        self.assertEqual(evts, [])
        (asked, held), = api.node.wanted_calls
        self.assertEqual((asked.kinds, asked.authors), (frozenset({0}), frozenset({STRANGER.public})))

    @async_test
    async def test_each_accepted_kind(self):
        api = await start_api(self)
        target = post(1732400000, "liked")
        events = [
            target,
            post(1732400001, json.dumps(target.to_json()), kind=6,
                 tags=[["e", target.id_hex, ""], ["p", OWNER.public.hex()]]),
            post(1732400002, "+", kind=7, tags=[["e", target.id_hex], ["p", OWNER.public.hex()]]),
        ]
        for event in events:
            self.assertEqual((await api.publish(event)).code, 200)
        _, body = await read_events(api, FIRST_POLL)
        self.assertEqual(decode_events_answer(body), events[::-1])


class TimelineTests(unittest.TestCase):
    async def _api_with_posts(self, count):
        api = await start_api(self)
        events = [post(1732400000 + i, f"post {i}") for i in range(count)]
        for event in events:
            await api.store.add(event)
        return api, events

    @async_test
    async def test_first_poll_is_the_newest_limit(self):
        api, events = await self._api_with_posts(320)
        _, body = await read_events(api, FIRST_POLL)
        self.assertEqual(decode_events_answer(body), events[::-1][:300])
        self.assertEqual(api.node.wanted_calls, [])

    @async_test
    async def test_window_poll(self):
        api, events = await self._api_with_posts(30)
        later = {"kinds": [TIMELINE_KIND], "since": 1732400010, "until": 1732400019, "limit": -1}
        _, body = await read_events(api, later)
        self.assertEqual(decode_events_answer(body), events[10:20][::-1])

    @async_test
    async def test_answer_is_capped(self):
        from nostrp2p.api.limits import MAX_ANSWER_EVENTS
        api, events = await self._api_with_posts(MAX_ANSWER_EVENTS + 20)
        for limit in (-1, 10**6):
            _, body = await read_events(api, {"kinds": [TIMELINE_KIND], "limit": limit})
            self.assertEqual(decode_events_answer(body), events[::-1][:MAX_ANSWER_EVENTS])

    @async_test
    async def test_full_nip01_filter_fields(self):
        api = await start_api(self)
        tagged = post(1732400005, "to you", tags=[["p", STRANGER.public.hex()]])
        untagged = post(1732400006, "to all")
        other = post(1732400007, "theirs", keys=STRANGER)
        for event in (tagged, untagged, other):
            await api.store.add(event)
        _, body = await read_events(api, {"#p": [STRANGER.public.hex()]})
        self.assertEqual(decode_events_answer(body), [tagged])
        _, body = await read_events(api, {"authors": [OWNER.public.hex()], "kinds": [1],
                                          "since": 1732400006})
        self.assertEqual(decode_events_answer(body), [untagged])
        _, body = await read_events(api, {"limit": 1})
        self.assertEqual(decode_events_answer(body), [other])

    @async_test
    async def test_gzip_when_accepted_plain_otherwise(self):
        api, events = await self._api_with_posts(50)
        request = json.dumps(FIRST_POLL).encode()
        gzipped, raw = await api.raw(b"POST", "/req", request, REQ_HEADERS)
        self.assertEqual(gzipped.headers.getRawHeaders("content-encoding"), ["gzip"])
        plain, plain_body = await api.raw(
            b"POST", "/req", request, dict(REQ_HEADERS, **{"Accept-Encoding": "identity"}))
        self.assertIsNone(plain.headers.getRawHeaders("content-encoding"))
        self.assertEqual(gzip.decompress(raw), plain_body)
        self.assertLess(len(raw), len(plain_body))
        self.assertEqual(decode_events_answer(plain_body), events[::-1])


class RefusedPublishTests(unittest.TestCase):
    async def _refused(self, api, event, status, field):
        response = await api.publish(event)
        self.assertEqual(response.code, status)
        body = json.loads(await response.content())
        self.assertEqual((body["Status"], body["Field"]), ("ERROR", field))
        self.assertEqual(await api.store.count(), 0)
        self.assertEqual(api.node.published_events, [])
        return body

    @async_test
    async def test_other_kinds_are_refused(self):
        api = await start_api(self)
        for kind in (2, 4, 5, 30023, TIMELINE_KIND):
            await self._refused(api, post(1732400000, kind=kind), 400, "kind")

    @async_test
    async def test_what_the_node_could_not_deliver_is_refused(self):
        api = await start_api(self)
        body = await self._refused(api, post(1732400000, "+", kind=7, tags=[["e", "ab" * 32]]),
                                   400, "tags")
        self.assertIn("p tag", body["Reason"])
        await self._refused(api, post(1732400000, tags=[["p", "not a key"]]), 400, "tags[0][1]")

    @async_test
    async def test_someone_elses_event_is_403_whatever_its_kind(self):
        api = await start_api(self)
        for kind in (0, 1, 3, 6, 7):
            await self._refused(api, post(1732400000, kind=kind, keys=STRANGER), 403, "pubkey")

    @async_test
    async def test_deny_write_refuses_publish_and_still_reads(self):
        api = await start_api(self, writable=False)
        held = post(1732400000)
        await api.store.add(held)
        body = await self._refused_once(api, post(1732400001))
        self.assertIn("deny-write", body["Reason"])
        _, answer = await read_events(api, FIRST_POLL)
        self.assertEqual(decode_events_answer(answer), [held])

    async def _refused_once(self, api, event):
        response = await api.publish(event)
        self.assertEqual(response.code, 403)
        self.assertEqual(api.node.published_events, [])
        return json.loads(await response.content())

    @async_test
    async def test_bad_signature_and_id(self):
        api = await start_api(self)
        event = post(1732400000).to_json()
        bad_sig = dict(event, sig=("0" if event["sig"][0] != "0" else "1") + event["sig"][1:])
        bad_id = dict(event, content="changed")
        for body, field in ((bad_sig, "sig"), (bad_id, "id")):
            response = await api.post("/publish", body)
            self.assertEqual(response.code, 400)
            self.assertEqual(json.loads(await response.content())["Field"], field)
        self.assertEqual(await api.store.count(), 0)

    @async_test
    async def test_gzip_request_body_is_accepted_and_bad_gzip_is_400(self):
        api = await start_api(self)
        event = post(1732400000)
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        body = gzip.compress(json.dumps(event.to_json()).encode())
        self.assertEqual((await api.post("/publish", body, headers)).code, 200)
        self.assertEqual(api.node.published_events, [event])
        for bad in (b"not gzip", body[:-10], body + b"junk"):
            response = await api.post("/publish", bad, headers)
            self.assertEqual(response.code, 400)
            self.assertEqual(json.loads(await response.content())["Field"], "content-encoding")


class AnswerEncoderTests(unittest.TestCase):
    def test_cached_answers_are_the_client_wire_bytes(self):
        from nostrp2p.api.answers import AnswerEncoder
        from nostrp2p.nostr.client_wire import encode_events_answer
        encoder = AnswerEncoder()
        events = [post(1732400000 + i, f"post {i}", tags=[["t", "x" * i]]) for i in range(40)]
        for chosen in ([], events[:1], events, events[5:30], events[::-1], events):
            expected = encode_events_answer(chosen)
            self.assertEqual(encoder.encode(chosen, False), expected)
            self.assertEqual(gzip.decompress(encoder.encode(chosen, True)), expected)
