"""Which client addresses keep the owner's fetch budget (nostrp2p/api/owner_clients.py)."""

from twisted.internet.task import Clock
from twisted.trial import unittest

from nostrp2p.api import limits
from nostrp2p.api.owner_clients import OwnerClients

from .helpers import async_test, post, start_api


class OwnerClientsTests(unittest.TestCase):
    def test_loopback_and_a_recent_owner_publisher_are_the_owners(self):
        clock = Clock()
        owners = OwnerClients(clock)
        self.assertIsNone(owners.fetch_client("127.0.0.1"))
        self.assertIsNone(owners.fetch_client("::1"))
        self.assertIsNone(owners.fetch_client(None))  # a Unix socket
        self.assertEqual(owners.fetch_client("192.0.2.7"), "192.0.2.7")
        owners.published_from("192.0.2.7")
        self.assertIsNone(owners.fetch_client("192.0.2.7"))
        self.assertEqual(owners.fetch_client("192.0.2.8"), "192.0.2.8")
        clock.advance(limits.OWNER_ADDRESS_SECONDS)
        self.assertEqual(owners.fetch_client("192.0.2.7"), "192.0.2.7")

    def test_the_remembered_addresses_are_bounded(self):
        owners = OwnerClients(Clock())
        for n in range(limits.MAX_OWNER_ADDRESSES + 1):
            owners.published_from(f"192.0.2.{n}")
        self.assertEqual(owners.fetch_client("192.0.2.0"), "192.0.2.0")
        self.assertIsNone(owners.fetch_client(f"192.0.2.{limits.MAX_OWNER_ADDRESSES}"))


class ReqTellsTheClientTests(unittest.TestCase):
    @async_test
    async def test_a_loopback_client_reads_with_the_owners_budget(self):
        api = await start_api(self)
        await api.publish(post(1_700_000_000))
        response = await api.req({"authors": [post(1).pubkey.hex()], "kinds": [0]})
        self.assertEqual(response.code, 200)
        self.assertEqual(api.node.wanted_clients, [None])
