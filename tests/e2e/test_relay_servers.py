"""Three real servers on loopback, each driven by stock Nostr clients (nostr-sdk) over its
WebSocket relay interface: what one owner publishes on A reaches a live subscription on C, and
a REQ on C for something C does not hold is answered on the open subscription once C has
fetched it over the overlay. C runs with --private-reads: only its owner reads there."""

from __future__ import annotations

from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import TestCase

from ..api.relay.stock import start_stock_client
from .test_servers import DELIVERY_TIMEOUT, Cluster


def ws_url(server) -> str:
    return f"ws://127.0.0.1:{server.rest_port}/"


class RelayAcrossServersTests(TestCase):
    timeout = 300

    def test_stock_clients_on_two_servers_meet_over_the_overlay(self):
        return ensureDeferred(self._meet())

    async def _meet(self):
        cluster = Cluster(self)
        cluster.add("a")
        cluster.add("b")
        cluster.add("c", "--private-reads")  # C's reader authenticates as C's owner
        await cluster.start("b")
        await cluster.start("a", bootstrap=["b"])
        await cluster.start("c", bootstrap=["b"])
        a, c = cluster.servers["a"], cluster.servers["c"]

        reader = await start_stock_client(self, ws_url(c), c.keys.secret)
        reader.command("subscribe", id="timeline", filter={"kinds": [1]})
        await reader.report("subscribed")
        await reader.report("eose", sub="timeline")

        stranger = await start_stock_client(self, ws_url(c), a.keys.secret)
        stranger.command("subscribe", id="peek", filter={"kinds": [1]})
        closed = await stranger.report("closed", sub="peek")
        self.assertTrue(closed["message"].startswith(("auth-required:", "restricted:")), closed)

        writer = await start_stock_client(self, ws_url(a), a.keys.secret)
        published = await writer.request("publish", "published", kind=1,
                                         content="from a stock client on A")
        self.assertEqual(published["failed"], {})
        try:
            live = await reader.report("event", sub="timeline", timeout=DELIVERY_TIMEOUT)
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- c log ---\n{c.log_text()[-6000:]}")
        self.assertEqual(live["event"]["id"], published["id"])
        self.assertEqual(live["event"]["pubkey"], a.keys.public.hex())
        self.assertFalse([r for r in stranger.reports if r["op"] == "event"])

        # A's follow list stays on A; a REQ for it on C starts C's fetch, and the answer
        # arrives on the open subscription.
        follows = await writer.request("publish", "published", kind=3, content="",
                                       tags=[["p", c.keys.public.hex()]])
        self.assertEqual(follows["failed"], {})
        reader.command("subscribe", id="follows",
                       filter={"kinds": [3], "authors": [a.keys.public.hex()]})
        await reader.report("subscribed")
        await reader.report("eose", sub="follows")
        fetched = await reader.report("event", sub="follows", timeout=DELIVERY_TIMEOUT)
        self.assertEqual(fetched["event"]["id"], follows["id"])
