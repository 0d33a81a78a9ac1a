"""NIP-42 AUTH checked in full (kind, challenge, relay URL, age, signature, owner), private
reads, NIP-11, and the same interface over TLS (wss://)."""

import json
import os
import time

import treq
import twisted.test
from autobahn.twisted.websocket import WebSocketClientFactory
from twisted.internet import reactor, ssl
from twisted.internet.defer import DeferredList
from twisted.internet.endpoints import SSL4ClientEndpoint
from twisted.trial import unittest

from nostrp2p.api import api_site, limits, make_api
from nostrp2p.api.relay import RelaySettings
from nostrp2p.nostr import sign_event
from nostrp2p.store.testing import start_test_store

from ..helpers import OWNER, STRANGER, async_test, post
from .helpers import ListeningNode, RawClient, connect, start_relay

CERT = os.path.join(os.path.dirname(twisted.test.__file__), "server.pem")


def auth_event(challenge, url, keys=OWNER, kind=22242, created_at=None):
    tags = [["relay", url], ["challenge", challenge]]
    return sign_event(keys.secret, created_at or int(time.time()), kind, tags, "")


class AuthTests(unittest.TestCase):
    @async_test
    async def test_every_wrong_auth_is_refused_and_the_owner_is_accepted(self):
        relay = await start_relay(self, RelaySettings(private_reads=True))
        client = await connect(self, relay)
        _, challenge = await client.next_of("AUTH")
        url = relay.url
        now = int(time.time())
        forged = auth_event(challenge, url).to_json()
        forged["sig"] = "11" * 64
        wrong = {
            "kind": (auth_event(challenge, url, kind=1).to_json(), "invalid: an AUTH event"),
            "challenge": (auth_event("0" * 32, url).to_json(), "invalid: the challenge"),
            "relay": (auth_event(challenge, "ws://example.invalid/").to_json(),
                      "invalid: the relay tag"),
            "age": (auth_event(challenge, url, created_at=now - 700).to_json(),
                    "invalid: created_at"),
            "future": (auth_event(challenge, url, created_at=now + 700).to_json(),
                       "invalid: created_at"),
            "signature": (forged, "invalid: sig"),
            "stranger": (auth_event(challenge, url, keys=STRANGER).to_json(), "restricted: "),
        }
        for name, (event, prefix) in wrong.items():
            client.send_json(["AUTH", event])
            answer = await client.next_of("OK")
            self.assertEqual(answer[:3], ["OK", event["id"], False], name)
            self.assertTrue(answer[3].startswith(prefix), (name, answer))
            client.send_json(["REQ", "r", {}])
            answer = await client.next_of("CLOSED")
            self.assertTrue(answer[2].startswith("auth-required: "), (name, answer))

        good = auth_event(challenge, url.rstrip("/"))  # a trailing slash does not matter
        client.send_json(["AUTH", good.to_json()])
        self.assertEqual(await client.next_of("OK"), ["OK", good.id_hex, True, ""])
        await relay.store.add(post(1732400000))
        client.send_json(["REQ", "r", {}])
        self.assertEqual(len(await client.until_eose("r")), 1)

    @async_test
    async def test_a_challenge_of_another_connection_does_not_authenticate(self):
        relay = await start_relay(self, RelaySettings(private_reads=True))
        first = await connect(self, relay)
        _, first_challenge = await first.next_of("AUTH")
        second = await connect(self, relay)
        _, second_challenge = await second.next_of("AUTH")
        self.assertNotEqual(first_challenge, second_challenge)
        event = auth_event(first_challenge, relay.url)
        second.send_json(["AUTH", event.to_json()])
        self.assertFalse((await second.next_of("OK"))[2])

    @async_test
    async def test_public_reads_need_no_auth(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        client.send_json(["REQ", "r", {}])
        self.assertEqual(await client.until_eose("r"), [])


class InfoTests(unittest.TestCase):
    @async_test
    async def test_nip11_document_holds_the_real_bounds(self):
        relay = await start_relay(self, RelaySettings(private_reads=True))
        response = await treq.get(relay.http_url + "/",
                                  headers={"accept": "application/nostr+json"},
                                  persistent=False)
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["application/nostr+json"])
        self.assertEqual(response.headers.getRawHeaders("access-control-allow-origin"), ["*"])
        info = json.loads(await response.content())
        self.assertEqual(info["pubkey"], OWNER.public.hex())
        self.assertIn(1, info["supported_nips"])
        self.assertIn(42, info["supported_nips"])
        self.assertTrue(info["software"])
        self.assertTrue(info["version"])
        self.assertEqual(info["limitation"], {
            "max_message_length": limits.MAX_MESSAGE_BYTES,
            "max_subscriptions": limits.MAX_SUBSCRIPTIONS,
            "max_filters": limits.MAX_FILTERS,
            "max_limit": limits.MAX_REQ_EVENTS,
            "max_subid_length": limits.MAX_SUBSCRIPTION_ID_CHARS,
            "max_event_tags": 2000,
            "max_content_length": 65536,
            "min_pow_difficulty": 0,
            "auth_required": True,
            "payment_required": False,
            "restricted_writes": True,
            "max_connections_per_address": limits.MAX_CONNECTIONS_PER_ADDRESS,
            "max_outgoing_bytes": limits.MAX_OUTGOING_BYTES,
            "max_events_in_flight": limits.MAX_WRITES_IN_FLIGHT,
            "max_reqs_in_flight": limits.MAX_QUERIES_IN_FLIGHT,
            "ping_interval_seconds": limits.PING_INTERVAL_SECONDS,
            "writable": True,
        })

    @async_test
    async def test_plain_get_and_rest_paths_are_unchanged(self):
        relay = await start_relay(self)
        response = await treq.get(relay.http_url + "/", persistent=False)
        self.assertEqual(response.code, 404)
        self.assertEqual(json.loads(await response.content())["Field"], "path")
        response = await treq.post(relay.http_url + "/req", json={"kinds": [1]},
                                   persistent=False)
        self.assertEqual(response.code, 200)
        await response.content()


class TlsTests(unittest.TestCase):
    @async_test
    async def test_wss_on_the_ssl_endpoint_string(self):
        from twisted.internet.endpoints import serverFromString
        store = await start_test_store(self)
        node = ListeningNode(store)
        site = api_site(make_api(store, node, OWNER.public, True))
        port = await serverFromString(
            reactor, f"ssl:0:interface=127.0.0.1:privateKey={CERT}:certKey={CERT}").listen(site)
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        url = f"wss://localhost:{number}/"
        factory = WebSocketClientFactory(url)
        factory.protocol = RawClient
        endpoint = SSL4ClientEndpoint(reactor, "127.0.0.1", number, ssl.CertificateOptions())
        client = await endpoint.connect(factory)
        self.addCleanup(lambda: client.transport and client.transport.abortConnection())
        await DeferredList([client.is_open, client.closed], fireOnOneCallback=True)
        _, challenge = await client.next_of("AUTH")
        auth = auth_event(challenge, url)
        client.send_json(["AUTH", auth.to_json()])
        self.assertEqual(await client.next_of("OK"), ["OK", auth.id_hex, True, ""])
        event = post(1732400000, "over TLS")
        client.send_json(["EVENT", event.to_json()])
        self.assertEqual(await client.next_of("OK"), ["OK", event.id_hex, True, ""])
        client.send_json(["REQ", "r", {"ids": [event.id_hex]}])
        self.assertEqual(await client.until_eose("r"), [event.to_json()])
