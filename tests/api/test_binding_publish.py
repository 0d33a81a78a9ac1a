"""/publish of an owner binding: the owner's is checked, stored in the data directory and
becomes the server's binding; it is neither stored as an event nor given to the overlay.
Anyone else's, or one that does not fit this server, is refused with its reason."""

from __future__ import annotations

import json
import os

from twisted.internet.task import Clock
from twisted.trial import unittest

from nostrp2p.binding import ServerBinding
from nostrp2p.binding.file import read_binding
from nostrp2p.nostr.binding import make_binding

from tests.nostr.test_binding import sdk_binding

from .helpers import OWNER, STRANGER, async_test, start_api

NOW = 1_800_000_000
OVERLAY = bytes.fromhex("c3" * 32)


def binding(sequence=1, keys=OWNER, overlay=OVERLAY, expires_at=NOW + 86400):
    return make_binding(keys.secret, overlay, sequence, expires_at, NOW - 60)


class BindingPublishTests(unittest.TestCase):
    async def start(self, **kwargs):
        self.data_dir = self.mktemp()
        os.makedirs(self.data_dir)
        clock = Clock()
        clock.advance(NOW)
        self.server_binding = ServerBinding(self.data_dir, OVERLAY, OWNER.public, clock)
        return await start_api(self, binding=self.server_binding, **kwargs)

    async def refused(self, api, event, status, field):
        response = await api.publish(event)
        body = json.loads(await response.content())
        self.assertEqual((response.code, body["Status"], body["Field"]), (status, "ERROR", field))
        return body["Reason"]

    @async_test
    async def test_the_owners_binding_is_taken_and_not_published_as_an_event(self):
        api = await self.start()
        made = binding()
        response = await api.publish(made.event)
        self.assertEqual(response.code, 200)
        self.assertEqual(json.loads(await response.content()), {"Status": "SUCCESS"})
        self.assertEqual(read_binding(self.data_dir), made)
        self.assertEqual(self.server_binding.status().state, "bound")
        self.assertEqual(api.node.published_events, [])  # not broadcast
        self.assertEqual(await api.store.get([made.id]), [])  # not an ordinary event

    @async_test
    async def test_a_binding_signed_by_a_stock_nostr_client_is_taken(self):
        api = await self.start()
        body = sdk_binding(OVERLAY, 4, NOW + 86400, NOW - 5, secret=OWNER.secret)
        response = await api.post("/publish", body)
        self.assertEqual(response.code, 200, await response.content())
        self.assertEqual(self.server_binding.status().sequence, 4)
        self.assertEqual(read_binding(self.data_dir).sequence, 4)

    @async_test
    async def test_a_newer_binding_replaces_the_current_an_older_one_is_refused(self):
        api = await self.start()
        await api.publish(binding(sequence=2).event)
        reason = await self.refused(api, binding(sequence=1).event, 409, "seq")
        self.assertIn("not newer", reason)
        newer = binding(sequence=3)
        self.assertEqual((await api.publish(newer.event)).code, 200)
        self.assertEqual(read_binding(self.data_dir), newer)

    @async_test
    async def test_a_binding_signed_by_someone_else_is_refused(self):
        api = await self.start()
        await self.refused(api, binding(keys=STRANGER).event, 403, "pubkey")
        self.assertIsNone(read_binding(self.data_dir))
        self.assertEqual(self.server_binding.status().state, "unbound")

    @async_test
    async def test_a_binding_for_another_overlay_key_or_expired_is_refused(self):
        api = await self.start()
        reason = await self.refused(api, binding(overlay=bytes(32)).event, 400, "tags")
        self.assertIn(OVERLAY.hex(), reason)
        reason = await self.refused(api, binding(expires_at=NOW).event, 400, "tags")
        self.assertIn("expired", reason)
        self.assertIsNone(read_binding(self.data_dir))

    @async_test
    async def test_deny_write_refuses_a_binding_too(self):
        api = await self.start(writable=False)
        await self.refused(api, binding().event, 403, "server")

    @async_test
    async def test_without_a_server_binding_the_kind_is_refused(self):
        api = await start_api(self)
        await self.refused(api, binding().event, 400, "kind")
