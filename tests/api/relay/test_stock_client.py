"""An independent implementation, rust-nostr (nostr-sdk), as a stock client of the relay
interface: publish, subscribe, EOSE, live events, NIP-42 AUTH."""

from twisted.trial import unittest

from nostrp2p.api.relay import RelaySettings

from ..helpers import OWNER, STRANGER, async_test, post
from .helpers import start_relay
from .stock import start_stock_client


class StockClientTests(unittest.TestCase):
    timeout = 120

    @async_test
    async def test_publish_subscribe_eose_and_live_events(self):
        relay = await start_relay(self)
        older = post(1732400000, "already here")
        await relay.store.add(older)
        reader = await start_stock_client(self, relay.url, None)
        reader.command("subscribe", id="tl", filter={"kinds": [1]})
        await reader.report("subscribed")
        stored = await reader.report("event", sub="tl")
        self.assertEqual(stored["event"], older.to_json())
        await reader.report("eose", sub="tl")

        writer = await start_stock_client(self, relay.url, OWNER.secret)
        published = await writer.request("publish", "published", kind=1, content="hi, stock",
                                         tags=[["t", "nostrp2p"]])
        self.assertEqual(published["failed"], {})
        self.assertEqual(len(published["success"]), 1)
        live = await reader.report("event", sub="tl")
        self.assertEqual(live["event"]["id"], published["id"])
        self.assertEqual(live["event"]["content"], "hi, stock")
        held = await relay.store.get([bytes.fromhex(published["id"])])
        self.assertEqual([e.content for e in held], ["hi, stock"])
        self.assertEqual([e.id for e in relay.node.published_events], [held[0].id])

    @async_test
    async def test_other_authors_and_foreign_kinds_are_refused(self):
        relay = await start_relay(self)
        stranger = await start_stock_client(self, relay.url, STRANGER.secret)
        refused = await stranger.request("publish", "published", kind=1, content="not mine")
        self.assertEqual(refused["success"], [])
        (reason,) = refused["failed"].values()
        self.assertIn("restricted:", reason)
        owner = await start_stock_client(self, relay.url, OWNER.secret)
        refused = await owner.request("publish", "published", kind=10002, content="")
        (reason,) = refused["failed"].values()
        self.assertIn("blocked:", reason)
        self.assertEqual(await relay.store.count(), 0)

    @async_test
    async def test_private_reads_are_answered_after_the_owner_authenticates(self):
        relay = await start_relay(self, RelaySettings(private_reads=True))
        await relay.store.add(post(1732400000, "private"))
        owner = await start_stock_client(self, relay.url, OWNER.secret)
        owner.command("subscribe", id="mine", filter={"kinds": [1]})
        await owner.report("subscribed")
        got = await owner.report("event", sub="mine")
        self.assertEqual(got["event"]["content"], "private")
        await owner.report("eose", sub="mine")

        stranger = await start_stock_client(self, relay.url, STRANGER.secret)
        stranger.command("subscribe", id="theirs", filter={"kinds": [1]})
        closed = await stranger.report("closed", sub="theirs")
        self.assertTrue(closed["message"].startswith(("auth-required:", "restricted:")), closed)
        self.assertFalse([r for r in stranger.reports if r["op"] == "event"])
