"""Events holding control characters, signed by an independent implementation (rust-nostr's
Python package nostr-sdk, whose serde_json writes U+0000-U+001F as \\u00XX like JSON.stringify and
Dart's jsonEncode), are accepted on REST and over the overlay and kept exactly as signed; so are
events whose id follows NIP-01's literal form."""

from __future__ import annotations

import dataclasses
import json

import nostr_sdk
from twisted.trial.unittest import TestCase

from nostrp2p.node.messages import encode_events
from nostrp2p.nostr import Event, EventError, KeyPair, event_from_json, sign_event
from nostrp2p.nostr.client_wire import decode_events_answer
from nostrp2p.nostr.event import canonical_json

from ..api.helpers import OWNER, async_test, start_api
from ..node.helpers import ALICE, BOB, NOW, Cluster

EVERY_CONTROL = "".join(chr(c) for c in range(0x20))
CONTENT = f"before {EVERY_CONTROL} after"


def sdk_signed(keys: KeyPair, content: str = CONTENT, tags=(("t", EVERY_CONTROL),),
               kind: int = 1) -> Event:
    """An event signed by nostr-sdk, as its JSON says (id computed by nostr-sdk)."""
    sdk_keys = nostr_sdk.Keys.parse(keys.secret.hex())
    builder = nostr_sdk.EventBuilder(nostr_sdk.Kind(kind), content).tags(
        [nostr_sdk.Tag.parse(list(tag)) for tag in tags]
    ).custom_created_at(nostr_sdk.Timestamp.from_secs(NOW))
    signed = sdk_keys.sign_event(builder.finalize_unsigned(sdk_keys.public_key()))
    return event_from_json(json.loads(signed.as_json()), verify=False)


class BothIdFormsTests(TestCase):
    def test_nostr_sdk_uses_the_escaped_form_for_every_other_control_character(self):
        # The premise of this file: were nostr-sdk's ids the literal form, nothing here would
        # test the other one.
        event = sdk_signed(OWNER)
        self.assertNotEqual(event.id, event.expected_id())
        self.assertIn(b"\\u0001", canonical_json(event.pubkey, event.created_at, event.kind,
                                                  event.tags, event.content, True))

    def test_either_form_verifies_and_a_tampered_one_does_not(self):
        for event in (sdk_signed(OWNER), sign_event(OWNER.secret, NOW, 1, (("t", EVERY_CONTROL),),
                                                     CONTENT)):
            self.assertEqual(event_from_json(event.to_json()), event)
            tampered = dataclasses.replace(event, content=CONTENT + "!")
            with self.assertRaises(EventError) as caught:
                event_from_json(tampered.to_json())
            self.assertEqual(caught.exception.field, "id")

    def test_the_seven_named_escapes_alone_have_one_form(self):
        # Without another control character both forms are the same text, so nothing looser
        # is accepted for ordinary events.
        event = sdk_signed(OWNER, content='quote " newline \n tab \t', tags=())
        self.assertEqual(event.id, event.expected_id())


class ThroughTheServerTests(TestCase):
    @async_test
    async def test_rest_accepts_it_and_gives_it_back_as_signed(self):
        api = await start_api(self)
        event = sdk_signed(OWNER)
        response = await api.publish(event)
        self.assertEqual(response.code, 200, await response.content())
        answer = await api.req({"ids": [event.id.hex()]})
        self.assertEqual(decode_events_answer(await answer.content()), [event])

    @async_test
    async def test_the_overlay_accepts_it_and_keeps_it_as_signed(self):
        cluster = Cluster(self)
        await cluster.add(ALICE)
        await cluster.add(BOB)
        event = sdk_signed(ALICE)
        cluster.network.overlays[ALICE.public].broadcast(encode_events([event]))
        await cluster.settle()
        self.assertEqual(await cluster.nodes[BOB.public].store.get([event.id]), [event])
