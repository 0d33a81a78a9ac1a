"""The tags of what the command-line client publishes match what the mobile client sets."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from nostrp2p.client.compose import follow_tags, parse_event_id, parse_pubkey, reply_tags
from nostrp2p.client.errors import ClientError
from nostrp2p.nostr import KeyPair, sign_event
from nostrp2p.nostr.keys import nip19_encode

ALICE, BOB = KeyPair.generate(), KeyPair.generate()


class ReplyTests(SynchronousTestCase):
    def test_reply_to_a_post_marks_it_root(self):
        parent = sign_event(ALICE.secret, 1, 1, [], "hi")
        self.assertEqual(reply_tags(parent), [["e", parent.id.hex(), "", "root"],
                                              ["p", ALICE.public.hex()]])

    def test_reply_to_a_reply_keeps_the_thread_and_marks_the_parent_reply(self):
        root = sign_event(ALICE.secret, 1, 1, [], "hi")
        parent = sign_event(BOB.secret, 2, 1, [["e", root.id.hex(), "", "root"],
                                              ["p", ALICE.public.hex()]], "hello")
        self.assertEqual(reply_tags(parent), [["e", root.id.hex(), "", "root"],
                                              ["e", parent.id.hex(), "", "reply"],
                                              ["p", BOB.public.hex()]])


class FollowTests(SynchronousTestCase):
    def test_new_followees_are_added_to_the_current_list_once(self):
        current = sign_event(BOB.secret, 1, 3, [["p", ALICE.public.hex()]], "")
        carol = KeyPair.generate()
        tags, new = follow_tags(current, [ALICE.public, carol.public, carol.public])
        self.assertEqual(tags, [["p", ALICE.public.hex()], ["p", carol.public.hex()]])
        self.assertEqual(new, [carol.public])

    def test_a_first_follow_list(self):
        self.assertEqual(follow_tags(None, [ALICE.public]),
                         ([["p", ALICE.public.hex()]], [ALICE.public]))


class ParseTests(SynchronousTestCase):
    def test_event_ids_in_hex_or_note(self):
        event_id = bytes(range(32))
        self.assertEqual(parse_event_id(event_id.hex()), event_id)
        self.assertEqual(parse_event_id(nip19_encode("note", event_id)), event_id)
        for bad in ("", "abc", nip19_encode("npub", event_id), "g" * 64):
            self.assertRaises(ClientError, parse_event_id, bad)

    def test_an_nsec_is_not_someone_to_follow(self):
        self.assertEqual(parse_pubkey(ALICE.npub), ALICE.public)
        with self.assertRaises(ClientError) as caught:
            parse_pubkey(ALICE.nsec)
        self.assertNotIn(ALICE.nsec, str(caught.exception))
