"""Delivery rules, kind by kind, as the first NostrP2P promised them."""

from twisted.trial.unittest import TestCase

from nostrp2p.nostr import EventError, KeyPair, sign_event
from nostrp2p.node.delivery import StoreOnly, ToEveryone, ToNamed, plan_delivery

OWNER = KeyPair.from_secret(b"\x11" * 32)
ALICE = KeyPair.from_secret(b"\x22" * 32).public
BOB = KeyPair.from_secret(b"\x33" * 32).public
ROOT = "ab" * 32


def plan(kind, tags=(), content=""):
    return plan_delivery(sign_event(OWNER.secret, 1, kind, tags, content), OWNER.public)


class DeliveryTests(TestCase):
    def test_normal_post_is_broadcast(self):
        self.assertEqual(plan(1, content="hello"), ToEveryone())

    def test_reply_goes_to_the_named_servers_only(self):
        self.assertEqual(
            plan(1, [["e", ROOT, "", "root"], ["p", ALICE.hex()], ["p", BOB.hex()],
                     ["p", ALICE.hex()]]),
            ToNamed((ALICE, BOB)),
        )

    def test_mention_of_only_oneself_is_a_broadcast(self):
        self.assertEqual(plan(1, [["p", OWNER.public.hex()]]), ToEveryone())

    def test_quote_repost_is_broadcast_even_with_p_tags(self):
        self.assertEqual(plan(1, [["e", ROOT, "", "mention"], ["p", ALICE.hex()], ["q"]]),
                         ToEveryone())

    def test_repost_and_profile_are_broadcast(self):
        self.assertEqual(plan(6, [["e", ROOT, ""], ["p", ALICE.hex()]], "{}"), ToEveryone())
        self.assertEqual(plan(0, content='{"name":"me"}'), ToEveryone())

    def test_follow_list_is_stored_only(self):
        self.assertEqual(plan(3, [["p", ALICE.hex()], ["p", BOB.hex()]]), StoreOnly())

    def test_reaction_goes_to_the_first_p_tag(self):
        self.assertEqual(plan(7, [["e", ROOT], ["p", BOB.hex()], ["p", ALICE.hex()]], "+"),
                         ToNamed((BOB,)))

    def test_a_reaction_to_ones_own_post_stays_home(self):
        self.assertEqual(plan(7, [["e", ROOT], ["p", OWNER.public.hex()], ["p", BOB.hex()]], "+"),
                         StoreOnly())

    def test_refusals(self):
        for kind, tags, field in [(4, [], "kind"), (30023, [], "kind"), (7, [["e", ROOT]], "tags"),
                                  (1, [["p", "not-hex"]], "tags[0][1]")]:
            with self.assertRaises(EventError) as caught:
                plan(kind, tags)
            self.assertEqual(caught.exception.field, field)
