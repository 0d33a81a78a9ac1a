"""Thousands of malformed requests: each gets the answer the Nostr layer's parsers call for
(4xx with a JSON reason, or 200 when the mutation happens to leave a valid request), never a
5xx, never a logged error (trial fails a test that logs one), and the server keeps answering."""

import gzip
import json
import random

from twisted.trial import unittest

from nostrp2p.node.delivery import ACCEPTED_KINDS, plan_delivery
from nostrp2p.nostr import (EventError, event_from_json_bytes, filter_from_json,
                            strict_json_loads)
from nostrp2p.nostr import limits as nostr_limits

from .helpers import OWNER, async_test, post, start_api

JSON_HEADERS = {"content-type": "application/json"}
GZIP_HEADERS = {"content-type": "application/json", "content-encoding": "gzip"}

WRONG_VALUES = [
    None, True, False, 0, -1, 1.5, 2**64, -(2**64), 10**300, "", "x", "0" * 64, "A" * 64,
    "g" * 64, "0" * 63, "0" * 65, "0" * 128, [], [[]], [None], [[1]], [["x"] * 17], {}, {"a": 1},
]

RAW_JSON = [
    b"NaN", b"Infinity", b"-Infinity", b'{"kind": NaN}', b'{"created_at": Infinity}',
    b"1" * 4301, b'{"kind": ' + b"9" * 5000 + b"}", b'{"limit": 1e999}', b"[" * 100_000,
    b"{\"a\":" * 50_000, b"", b" ", b"null", b"[]", b'"string"', b"\xff\xfe\xfd", b"\xc3\x28",
    b'{"content": "\xed\xa0\x80"}', b'{"content": "\\ud800"}', b"{}" * 10, b"{" + b" " * 1000,
]


def owner_publish_oracle(body: bytes) -> int:
    """The status /publish must give a (non-gzip) body, from the Nostr layer's own parsers."""
    try:
        event = event_from_json_bytes(body)
    except (EventError, ValueError):
        return 400
    if event.kind not in ACCEPTED_KINDS:
        return 400
    if event.pubkey != OWNER.public:
        return 403
    try:
        plan_delivery(event, OWNER.public)
    except EventError:
        return 400
    return 200


def req_oracle(body: bytes) -> int:
    try:
        filter_from_json(strict_json_loads(body))
    except (EventError, ValueError):
        return 400
    return 200


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def publish_cases(rng: random.Random):
    event = post(1732400000, "hello", tags=[["e", "ab" * 32, "", "root"], ["p", "cd" * 32]])
    good = event.to_json()
    encoded = compact(good)
    for cut in range(len(encoded)):
        yield encoded[:cut]
    for field in good:
        for value in WRONG_VALUES:
            yield compact(dict(good, **{field: value}))
        yield compact({k: v for k, v in good.items() if k != field})
    yield from RAW_JSON
    yield compact(dict(good, tags=[["p", "x"]] * (nostr_limits.MAX_TAGS + 1)))
    yield compact(dict(good, tags=[["x" * (nostr_limits.MAX_TAG_ELEMENT_BYTES + 1)]]))
    yield compact(dict(good, content="x" * (nostr_limits.MAX_CONTENT_BYTES + 1)))
    yield compact(dict(good, created_at=nostr_limits.MAX_CREATED_AT + 1))
    yield compact([good])
    for _ in range(1500):
        yield mutate(rng, encoded)


def req_cases(rng: random.Random):
    good = {"kinds": [1], "ids": ["ab" * 32], "authors": ["cd" * 32], "#p": ["ef" * 32],
            "since": 1, "until": 2, "limit": 10}
    encoded = compact(good)
    for cut in range(len(encoded)):
        yield encoded[:cut]
    for field in good:
        for value in WRONG_VALUES:
            yield compact(dict(good, **{field: value}))
    yield from RAW_JSON
    yield compact(dict(good, authors=["cd" * 32] * 1001))
    yield compact(dict(good, kinds=[70000]))
    yield compact(dict(good, limit=-2))
    for _ in range(1500):
        yield mutate(rng, encoded)


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(data))
        action = rng.randrange(3)
        if action == 0:
            data[position] = rng.randrange(256)
        elif action == 1:
            del data[position]
        else:
            data.insert(position, rng.choice(b'{}[]",:-.0e9\\\x00\xff'))
    return bytes(data)


def inflates_to_original(body: bytes, valid: bytes) -> bool:
    try:
        return gzip.decompress(body) == gzip.decompress(valid)
    except Exception:
        return False


class MalformedRequestTests(unittest.TestCase):
    async def _check_all(self, api, path, cases, oracle):
        checked = 0
        for body in cases:
            expected = oracle(body)
            response, answer = await api.raw(b"POST", path, body, JSON_HEADERS)
            self.assertEqual(response.code, expected, (path, body[:200], answer[:300]))
            self.assertEqual(response.headers.getRawHeaders("access-control-allow-origin"), ["*"])
            if expected >= 400:
                self.assertIn("Reason", json.loads(answer))
            checked += 1
        return checked

    @async_test
    async def test_publish_bodies(self):
        api = await start_api(self)
        checked = await self._check_all(api, "/publish", publish_cases(random.Random(5)),
                                        owner_publish_oracle)
        self.assertGreater(checked, 2000)
        self.assertEqual((await api.publish(post(1732400001))).code, 200)

    @async_test
    async def test_req_bodies(self):
        api = await start_api(self)
        checked = await self._check_all(api, "/req", req_cases(random.Random(7)), req_oracle)
        self.assertGreater(checked, 1500)
        self.assertEqual((await api.req({"kinds": [40000]})).code, 200)

    @async_test
    async def test_bad_gzip_bodies(self):
        api = await start_api(self)
        rng = random.Random(9)
        valid = gzip.compress(compact(post(1732400000).to_json()))
        cases = [b"", b"\x1f\x8b", valid[:10], valid[:-1], valid + b"\x00"]
        cases += [mutate(rng, valid) for _ in range(300)]
        for body in cases:
            if inflates_to_original(body, valid):
                continue  # a mutation of the header's timestamp or OS byte: still valid
            response, answer = await api.raw(b"POST", "/publish", body, GZIP_HEADERS)
            self.assertGreaterEqual(response.code, 400, body)
            self.assertLess(response.code, 500, body)
            self.assertIn("Reason", json.loads(answer))
        self.assertEqual(await api.store.count(), 0)
        response, _ = await api.raw(b"POST", "/publish", valid, GZIP_HEADERS)
        self.assertEqual(response.code, 200)
