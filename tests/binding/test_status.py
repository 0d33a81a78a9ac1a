"""The server's own binding: loaded from the data directory at start with one log line saying
what the server runs as, replaced by a newer one from the owner, refused otherwise."""

from __future__ import annotations

import json
import os

from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs
from twisted.trial.unittest import TestCase

from nostrp2p.binding import BINDING_FILE, ServerBinding, load_server_binding, status
from nostrp2p.binding.file import read_binding, write_binding
from nostrp2p.binding.overlay_key import OVERLAY_KEY_FILE, overlay_public_key
from nostrp2p.nostr import Event, KeyPair
from nostrp2p.nostr.binding import BindingError, make_binding

OWNER = KeyPair.from_secret(bytes.fromhex("51" * 32))
OTHER = KeyPair.from_secret(bytes.fromhex("52" * 32))
NOW = 1_800_000_000
DAY = 86400


def lines(events, level=None):
    return [event["log_format"].format(**event) for event in events
            if level is None or event["log_level"] == level]


class ServerBindingTests(TestCase):
    def setUp(self):
        self.data_dir = self.mktemp()
        os.makedirs(self.data_dir)
        self.overlay = overlay_public_key(self.data_dir)
        self.clock = Clock()
        self.clock.advance(NOW)

    def server(self):
        return ServerBinding(self.data_dir, self.overlay, OWNER.public, self.clock)

    def binding(self, sequence=1, days=30, keys=OWNER, overlay=None, created_at=NOW - 60):
        return make_binding(keys.secret, overlay or self.overlay, sequence,
                            NOW + days * DAY, created_at)

    def test_unbound_start_warns_and_says_how_to_bind(self):
        with capturedLogs() as events:
            status = self.server().load()
        self.assertEqual((status.state, status.expires_at), ("unbound", None))
        [warning] = lines(events, LogLevel.warn)
        self.assertIn("runs unbound", warning)
        self.assertIn(f"nostrp2p bind --datadir {self.data_dir}", warning)

    def test_bound_start(self):
        write_binding(self.data_dir, self.binding(sequence=4))
        server = self.server()
        with capturedLogs() as events:
            server.load()
        status = server.status()
        self.assertEqual((status.state, status.expires_at, status.sequence),
                         ("bound", NOW + 30 * DAY, 4))
        self.assertEqual(lines(events, LogLevel.warn), [])
        self.clock.advance(30 * DAY)
        self.assertEqual(server.status().state, "expired")

    def test_a_binding_close_to_its_expiry_is_bound_with_a_reminder(self):
        write_binding(self.data_dir, self.binding(days=29))
        with capturedLogs() as events:
            self.assertEqual(self.server().load().state, "bound")
        [warning] = lines(events, LogLevel.warn)
        self.assertIn("bind it again before then", warning)

    def test_a_binding_that_cannot_be_stored_is_refused_and_the_old_one_kept(self):
        server = self.server()
        first = self.binding(sequence=1)
        server.offer(first.event)

        def full_disk(data_dir, binding):
            raise OSError(28, "No space left on device")

        self.patch(status, "write_binding", full_disk)
        with self.assertRaises(BindingError) as caught:
            server.offer(self.binding(sequence=2).event)
        self.assertEqual((caught.exception.field, server.binding), ("file", first))
        self.assertIn("No space left", caught.exception.reason)

    def test_expired_on_disk_loads_as_expired_with_a_warning(self):
        write_binding(self.data_dir, self.binding(days=1))
        self.clock.advance(2 * DAY)
        with capturedLogs() as events:
            status = self.server().load()
        self.assertEqual(status.state, "expired")
        self.assertIn("expired", lines(events, LogLevel.warn)[0])

    def test_a_binding_for_another_overlay_key_or_owner_is_refused_in_one_line(self):
        for refused, what in ((self.binding(overlay=bytes(32)), bytes(32).hex()),
                              (self.binding(keys=OTHER), OTHER.public.hex())):
            with self.subTest(what=what):
                write_binding(self.data_dir, refused)
                with capturedLogs() as events:
                    status = self.server().load()
                self.assertEqual(status.state, "unbound")
                [line] = lines(events)
                self.assertIn("refused, running unbound", line)
                self.assertIn(what, line)
                self.assertNotIn("\n", line)

    def test_forged_signatures_are_refused_on_disk_and_when_offered(self):
        made = self.binding()
        forged = Event(made.id, made.owner, made.created_at, made.event.kind, made.event.tags,
                       made.event.content, bytes(64))
        with open(os.path.join(self.data_dir, BINDING_FILE), "w") as handle:
            json.dump(forged.to_json(), handle)
        with capturedLogs() as events:
            server = self.server()
            self.assertEqual(server.load().state, "unbound")
        self.assertIn("signature", lines(events, LogLevel.error)[0])
        with self.assertRaises(BindingError) as caught:
            server.offer(forged)
        self.assertEqual(caught.exception.field, "sig")
        self.assertIsNone(server.binding)

    def test_a_corrupt_file_is_refused_and_the_server_runs_unbound(self):
        with open(os.path.join(self.data_dir, BINDING_FILE), "w") as handle:
            handle.write("{not json")
        with capturedLogs() as events:
            self.assertEqual(self.server().load().state, "unbound")
        self.assertIn("is not a Nostr event", lines(events, LogLevel.error)[0])

    def test_newer_binding_replaces_and_is_stored(self):
        server = self.server()
        server.load()
        self.assertTrue(server.offer(self.binding(sequence=1).event))
        newer = self.binding(sequence=2)
        self.assertTrue(server.offer(newer.event))
        self.assertFalse(server.offer(newer.event))  # the same again: nothing to do
        self.assertEqual(server.status().sequence, 2)
        self.assertEqual(read_binding(self.data_dir), newer)
        # A restart finds it.
        again = self.server()
        again.load()
        self.assertEqual(again.binding, newer)

    def test_offers_refused_with_their_reason(self):
        server = self.server()
        server.offer(self.binding(sequence=5).event)
        cases = [
            (self.binding(sequence=4), "seq"),
            (self.binding(keys=OTHER, sequence=9), "pubkey"),
            (self.binding(overlay=bytes(32), sequence=9), "tags"),
            (make_binding(OWNER.secret, self.overlay, 9, NOW, NOW - 60), "tags"),  # expired
        ]
        for refused, field in cases:
            with self.subTest(field=field):
                with self.assertRaises(BindingError) as caught:
                    server.offer(refused.event)
                self.assertEqual(caught.exception.field, field)
        self.assertEqual(read_binding(self.data_dir).sequence, 5)
        self.assertEqual(server.status().sequence, 5)

    def test_the_file_is_the_events_json_and_replaced_whole(self):
        made = self.binding()
        path = write_binding(self.data_dir, made)
        with open(path) as handle:
            self.assertEqual(json.load(handle), made.event.to_json())
        self.assertEqual(sorted(os.listdir(self.data_dir)), [BINDING_FILE, OVERLAY_KEY_FILE])

    def test_load_server_binding_creates_the_overlay_key_as_the_server_would(self):
        fresh = self.mktemp()
        os.makedirs(fresh)
        with capturedLogs():
            server = load_server_binding(fresh, OWNER.public, self.clock)
        with open(os.path.join(fresh, OVERLAY_KEY_FILE), "rb") as handle:
            self.assertEqual(len(handle.read()), 32)
        self.assertEqual(os.stat(os.path.join(fresh, OVERLAY_KEY_FILE)).st_mode & 0o777, 0o600)
        self.assertEqual(server.overlay_key, overlay_public_key(fresh))
