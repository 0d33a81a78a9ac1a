"""NIP-01 over the WebSocket, frame by frame: EVENT -> OK, REQ -> stored events newest first,
EOSE, then live events; CLOSE -> CLOSED."""

import os

from twisted.internet.task import Clock
from twisted.trial import unittest

from nostrp2p.binding import ServerBinding
from nostrp2p.binding.file import read_binding

from ..helpers import OWNER, STRANGER, async_test, post
from .helpers import connect, start_relay


class EventTests(unittest.TestCase):
    @async_test
    async def test_owner_event_is_accepted_stored_and_delivered_like_publish(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        event = post(1732400000, "hello over a socket")
        client.send_json(["EVENT", event.to_json()])
        self.assertEqual(await client.next_of("OK"), ["OK", event.id_hex, True, ""])
        self.assertEqual(await relay.store.get([event.id]), [event])
        self.assertEqual(relay.node.published_events, [event])

        client.send_json(["EVENT", event.to_json()])
        answer = await client.next_of("OK")
        self.assertEqual(answer[:3], ["OK", event.id_hex, True])
        self.assertTrue(answer[3].startswith("duplicate:"), answer)
        self.assertEqual(relay.node.published_events, [event])  # delivered once

    @async_test
    async def test_other_authors_are_restricted(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        event = post(1732400000, "not the owner", keys=STRANGER)
        client.send_json(["EVENT", event.to_json()])
        answer = await client.next_of("OK")
        self.assertEqual(answer[:3], ["OK", event.id_hex, False])
        self.assertTrue(answer[3].startswith("restricted:"), answer)
        self.assertEqual(await relay.store.count(), 0)

    @async_test
    async def test_kinds_the_network_does_not_carry_are_blocked(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        event = post(1732400000, "a relay list", kind=10002)
        client.send_json(["EVENT", event.to_json()])
        answer = await client.next_of("OK")
        self.assertEqual(answer[:3], ["OK", event.id_hex, False])
        self.assertTrue(answer[3].startswith("blocked: kind"), answer)
        self.assertEqual(await relay.store.count(), 0)

    @async_test
    async def test_deny_write_mode_is_restricted(self):
        relay = await start_relay(self, writable=False)
        client = await connect(self, relay)
        event = post(1732400000)
        client.send_json(["EVENT", event.to_json()])
        answer = await client.next_of("OK")
        self.assertFalse(answer[2])
        self.assertTrue(answer[3].startswith("restricted: server"), answer)

    @async_test
    async def test_a_reaction_without_its_author_is_invalid(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        event = post(1732400000, "+", kind=7)
        client.send_json(["EVENT", event.to_json()])
        answer = await client.next_of("OK")
        self.assertFalse(answer[2])
        self.assertTrue(answer[3].startswith("invalid: tags"), answer)


class ReqTests(unittest.TestCase):
    @async_test
    async def test_stored_matches_newest_first_then_eose_then_live(self):
        relay = await start_relay(self)
        old, middle, new = (post(1732400000 + i, f"post {i}") for i in range(3))
        for event in (old, middle, new):
            await relay.store.add(event)
        reader = await connect(self, relay)
        reader.send_json(["REQ", "tl", {"kinds": [1], "limit": 2}])
        stored = await reader.until_eose("tl")
        self.assertEqual([e["id"] for e in stored], [new.id_hex, middle.id_hex])

        writer = await connect(self, relay)
        live = post(1732400100, "live")
        writer.send_json(["EVENT", live.to_json()])
        self.assertEqual(await writer.next_of("OK"), ["OK", live.id_hex, True, ""])
        self.assertEqual(await reader.next_of("EVENT"), ["EVENT", "tl", live.to_json()])

    @async_test
    async def test_several_filters_with_tags_since_until_and_authors(self):
        relay = await start_relay(self)
        target = STRANGER.public.hex()
        mention = post(1732400010, "hi", tags=[["p", target]])
        tagged = post(1732400020, "topic", tags=[["t", "nostr"]])
        too_old = post(1732399000, "old topic", tags=[["t", "nostr"]])
        other = post(1732400030, "untagged")
        profile = post(1732400040, '{"name":"o"}', kind=0)
        for event in (mention, tagged, too_old, other, profile):
            await relay.store.add(event)
        client = await connect(self, relay)
        client.send_json(["REQ", "s", {"#p": [target]},
                          {"#t": ["nostr"], "since": 1732400000, "until": 1732400025},
                          {"authors": [OWNER.public.hex()], "kinds": [0]},
                          {"ids": [mention.id_hex]}])
        stored = await client.until_eose("s")
        self.assertEqual([e["id"] for e in stored],
                         [profile.id_hex, tagged.id_hex, mention.id_hex])

    @async_test
    async def test_live_events_follow_the_filter_and_close_stops_them(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        client.send_json(["REQ", "t", {"#t": ["cats"]}])
        self.assertEqual(await client.until_eose("t"), [])
        unrelated = post(1732400000, "dogs", tags=[["t", "dogs"]], keys=STRANGER)
        cats = post(1732400001, "cats", tags=[["t", "cats"]], keys=STRANGER)
        await relay.node.deliver(unrelated)  # from the overlay
        await relay.node.deliver(cats)
        self.assertEqual(await client.next_of("EVENT"), ["EVENT", "t", cats.to_json()])
        client.send_json(["CLOSE", "t"])
        self.assertEqual(await client.next_of("CLOSED"), ["CLOSED", "t", ""])
        await relay.node.deliver(post(1732400002, "more cats", tags=[["t", "cats"]],
                                      keys=STRANGER))
        client.send_json(["REQ", "probe", {"ids": ["00" * 32]}])
        self.assertEqual(await client.next(), ["EOSE", "probe"])  # and no EVENT for "t"

    @async_test
    async def test_a_req_for_something_not_held_asks_the_node_and_gets_it_live(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        client.send_json(["REQ", "p", {"kinds": [0], "authors": [STRANGER.public.hex()]}])
        self.assertEqual(await client.until_eose("p"), [])
        (event_filter, held), = relay.node.wanted_calls
        self.assertEqual(event_filter.authors, {STRANGER.public})
        self.assertEqual(held, [])
        fetched = post(1732400000, '{"name":"s"}', kind=0, keys=STRANGER)
        await relay.node.deliver(fetched)  # the fetch's answer, stored by the node
        self.assertEqual(await client.next_of("EVENT"), ["EVENT", "p", fetched.to_json()])

    @async_test
    async def test_rest_publish_reaches_live_subscriptions(self):
        relay = await start_relay(self)
        client = await connect(self, relay)
        client.send_json(["REQ", "mine", {"authors": [OWNER.public.hex()]}])
        await client.until_eose("mine")
        import treq
        event = post(1732400000, "from the mobile client")
        response = await treq.post(relay.http_url + "/publish", json=event.to_json(),
                                   persistent=False)
        self.assertEqual(response.code, 200)
        await response.content()
        self.assertEqual(await client.next_of("EVENT"), ["EVENT", "mine", event.to_json()])


class BindingOverEventTests(unittest.TestCase):
    """The owner binding goes through the one write path: EVENT takes it as /publish does."""

    @async_test
    async def test_the_owners_binding_is_taken_and_a_strangers_refused(self):
        from ..test_binding_publish import NOW, OVERLAY, binding
        data_dir = self.mktemp()
        os.makedirs(data_dir)
        clock = Clock()
        clock.advance(NOW)
        server_binding = ServerBinding(data_dir, OVERLAY, OWNER.public, clock)
        relay = await start_relay(self, binding=server_binding)
        client = await connect(self, relay)
        forged = binding(keys=STRANGER)
        client.send_json(["EVENT", forged.event.to_json()])
        answer = await client.next_of("OK")
        self.assertEqual(answer[:3], ["OK", forged.event.id_hex, False])
        self.assertTrue(answer[3].startswith("restricted: pubkey"), answer)
        made = binding()
        client.send_json(["EVENT", made.event.to_json()])
        self.assertEqual(await client.next_of("OK"), ["OK", made.event.id_hex, True, ""])
        self.assertEqual(read_binding(data_dir), made)
        self.assertEqual(relay.node.published_events, [])
        self.assertEqual(await relay.store.get([made.id]), [])
