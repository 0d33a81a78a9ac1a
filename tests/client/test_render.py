"""What a person reads: the timeline and the status screen."""

from __future__ import annotations

import json

from twisted.trial.unittest import SynchronousTestCase

from nostrp2p.admin.status import Facts, build_status
from nostrp2p.admin.watch import NetworkWatch
from nostrp2p.client.status_text import render_status
from nostrp2p.client.timeline_text import profile_name, render_timeline
from nostrp2p.nostr import KeyPair, sign_event

from ..admin.fakes import FakeView, contact

ALICE, BOB = KeyPair.generate(), KeyPair.generate()


class TimelineTests(SynchronousTestCase):
    def test_newest_first_under_profile_names(self):
        old = sign_event(ALICE.secret, 1000, 1, [], "first")
        new = sign_event(BOB.secret, 1600, 1, [["e", old.id.hex(), "", "root"]], "second")
        reaction = sign_event(BOB.secret, 1700, 7, [["e", old.id.hex()]], "+")
        text = render_timeline([old, new, reaction], {ALICE.public: "alice"}, 1900.0)
        self.assertLess(text.index("second"), text.index("first"))
        self.assertIn("alice (npub1", text)
        self.assertIn("5 minutes ago · reply", text)
        self.assertIn(f"id {old.id.hex()}", text)
        self.assertNotIn("+", text.replace("1", ""))  # reactions are not posts

    def test_names_from_profiles(self):
        def profile(content):
            return sign_event(ALICE.secret, 1, 0, [], content)
        self.assertEqual(profile_name(profile(json.dumps({"name": "alice"}))), "alice")
        self.assertEqual(profile_name(profile(json.dumps({"name": "a", "display_name": "Alice A"}))),
                         "Alice A")
        self.assertEqual(profile_name(profile(json.dumps({"name": "line\nbreak"}))), "line break")
        for content in ("not json", "[1]", json.dumps({"name": 3}), json.dumps({"name": " "})):
            self.assertIsNone(profile_name(profile(content)))
        self.assertIsNone(profile_name(None))

    def test_empty(self):
        self.assertIn("empty", render_timeline([], {}, 0.0))


class StatusScreenTests(SynchronousTestCase):
    def test_one_screen_in_words(self):
        boot = ("203.0.113.5", 20000)
        view = FakeView(bootstrap=[boot])
        watch = NetworkWatch(0.0)
        watch.sample(view, 720.0)
        status = build_status(Facts(now=720.0, version="1.2.3", owner=ALICE.public,
                                    started_at=0.0, view=view, watch=watch, store_ready=True,
                                    events_held=3, resend_queue=0,
                                    failures=[(700.0, BOB.public, "Unreachable: no route")]))
        text = render_status(status)
        self.assertIn("NostrP2P 1.2.3, up 12 minutes", text)
        self.assertIn(f"owner           {ALICE.npub}", text)
        self.assertIn("binding         unbound", text)
        self.assertIn("bootstrap       203.0.113.5:20000 (no answer yet)", text)
        self.assertIn("Neighbours: none", text)
        self.assertIn(f"20 seconds ago, to {BOB.npub}: Unreachable: no route", text)
        self.assertIn("! no neighbours for 12 minutes: bootstrap 203.0.113.5:20000 does not answer",
                      text)

    def test_neighbours_listed_with_addresses(self):
        view = FakeView(neighbours=[contact(1, ("127.0.0.1", 4001), 5.0)],
                        sessions=[contact(1, ("127.0.0.1", 4001), 5.0)])
        watch = NetworkWatch(0.0)
        watch.sample(view, 10.0)
        text = render_status(build_status(Facts(now=10.0, version="1", owner=ALICE.public,
                                                started_at=0.0, view=view, watch=watch,
                                                store_ready=True)))
        self.assertIn("Neighbours (1)\n  npub1", text)
        self.assertIn("127.0.0.1:4001  heard 5 seconds ago", text)
        self.assertIn("none given: no --bootstrap given", text)
        self.assertIn("No warnings.", text)


class BindingLineTests(SynchronousTestCase):
    def test_the_binding_line_says_until_when_or_what_to_do(self):
        from nostrp2p.client.status_text import binding_text

        self.assertEqual(binding_text({"binding": "bound", "binding_expires_at": 1_900_000_000}),
                         "bound until 2030-03-17 17:46 UTC")
        self.assertIn("nostrp2p bind", binding_text({"binding": "unbound", "binding_expires_at": None}))
        self.assertIn("expired on 2030-03-17",
                      binding_text({"binding": "expired", "binding_expires_at": 1_900_000_000}))
