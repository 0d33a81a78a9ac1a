"""Every answer, errors included, carries the CORS and Private Network Access headers the
browser build of the client needs; preflights succeed without a body."""

import gzip
import json

from twisted.trial import unittest

from nostrp2p.api import limits

from .helpers import CLIENT_HEADERS, STRANGER, async_test, post, start_api

EXPECTED = {
    "access-control-allow-origin": "*",
    "access-control-allow-private-network": "true",
}
CLIENT_SENDS = {"content-type", "accept", "access-control-request-method",
                "access-control-request-private-network", "accept-encoding"}

PREFLIGHT_HEADERS = {
    "Origin": "https://client.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, accept",
    "Access-Control-Request-Private-Network": "true",
}


class CorsTests(unittest.TestCase):
    def assertCors(self, response):
        headers = response.headers
        for name, value in EXPECTED.items():
            self.assertEqual(headers.getRawHeaders(name), [value], name)
        methods, = headers.getRawHeaders("access-control-allow-methods")
        self.assertEqual({m.strip() for m in methods.split(",")}, {"POST", "OPTIONS"})
        allowed, = headers.getRawHeaders("access-control-allow-headers")
        self.assertLessEqual(CLIENT_SENDS, {h.strip().lower() for h in allowed.split(",")})

    @async_test
    async def test_preflight_on_every_path(self):
        api = await start_api(self)
        for path in ("/publish", "/req", "/elsewhere"):
            response, body = await api.raw(b"OPTIONS", path, None, PREFLIGHT_HEADERS)
            self.assertEqual(response.code, 204, path)
            self.assertEqual(body, b"")
            self.assertCors(response)

    @async_test
    async def test_every_status_carries_cors(self):
        api = await start_api(self)
        denied = await start_api(self, writable=False, store=api.store)
        good = post(1732400000)
        gzip_headers = dict(CLIENT_HEADERS, **{"content-encoding": "gzip"})
        cases = [
            (api, b"POST", "/publish", json.dumps(good.to_json()).encode(), CLIENT_HEADERS, 200),
            (api, b"POST", "/req", b'{"kinds":[40000]}', CLIENT_HEADERS, 200),
            (api, b"POST", "/req", b"{", CLIENT_HEADERS, 400),
            (api, b"POST", "/publish", b"not gzip", gzip_headers, 400),
            (api, b"POST", "/publish",
             json.dumps(post(1732400000, keys=STRANGER).to_json()).encode(), CLIENT_HEADERS, 403),
            (denied, b"POST", "/publish", json.dumps(good.to_json()).encode(), CLIENT_HEADERS, 403),
            (api, b"POST", "/nothing", b"{}", CLIENT_HEADERS, 404),
            (api, b"GET", "/req", None, CLIENT_HEADERS, 405),
            (api, b"PUT", "/publish", b"{}", CLIENT_HEADERS, 405),
            (api, b"POST", "/publish", b" " * (limits.MAX_REQUEST_BODY_BYTES + 1), CLIENT_HEADERS, 413),
            (api, b"POST", "/publish",
             gzip.compress(b" " * (limits.MAX_INFLATED_BODY_BYTES + 1)), gzip_headers, 413),
            (api, b"POST", "/req", b"{}", dict(CLIENT_HEADERS, **{"content-encoding": "br"}), 415),
        ]
        for target, method, path, body, headers, status in cases:
            response, answer = await target.raw(method, path, body, headers)
            self.assertEqual(response.code, status, (method, path, status, answer))
            self.assertCors(response)
            if status >= 400:
                error = json.loads(answer)
                self.assertEqual(error["Status"], "ERROR")
                self.assertTrue(error["Field"] and error["Reason"])
                self.assertEqual(response.headers.getRawHeaders("content-type"),
                                 ["application/json"])
            if status == 405:
                self.assertEqual(response.headers.getRawHeaders("allow"), ["POST, OPTIONS"])
