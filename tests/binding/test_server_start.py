"""The server and its binding: read from the data directory when the server is built, with one
line saying what it runs as, and taken from the owner's client through /publish."""

from __future__ import annotations

import json
import time
from pathlib import Path

import treq
from twisted.internet import reactor
from twisted.logger import LogLevel, capturedLogs
from twisted.trial.unittest import TestCase

from nostrp2p.binding.file import read_binding, write_binding
from nostrp2p.binding.overlay_key import overlay_public_key
from nostrp2p.nostr import KeyPair
from nostrp2p.nostr.binding import make_binding
from nostrp2p.options import ServerOptions
from nostrp2p.service import make_service
from tests.e2e.cluster import free_port, poll_until
from tests.test_service import _config, async_test

OWNER = KeyPair.from_secret(bytes.fromhex("33" * 32))  # the owner tests.test_service configures
OTHER = KeyPair.from_secret(bytes.fromhex("71" * 32))


def fresh_binding(data_dir, keys=OWNER, sequence=1):
    now = int(time.time())
    return make_binding(keys.secret, overlay_public_key(data_dir), sequence, now + 90 * 86400, now)


def state_of(service):
    return service.getServiceNamed("node").binding.status()


class BuiltServerTests(TestCase):
    def build(self, data_dir):
        with capturedLogs() as events:
            service = make_service(_config(data_dir, free_port()), reactor=reactor)
        return service, [e["log_format"].format(**e) for e in events
                         if e["log_level"] in (LogLevel.warn, LogLevel.error)]

    def test_unbound_server_warns(self):
        service, warnings = self.build(Path(self.mktemp()))
        self.assertEqual(state_of(service).state, "unbound")
        self.assertEqual(len(warnings), 1)
        self.assertIn("runs unbound", warnings[0])

    def test_bound_server_says_nothing_alarming(self):
        data_dir = Path(self.mktemp())
        data_dir.mkdir()
        write_binding(data_dir, fresh_binding(data_dir))
        service, warnings = self.build(data_dir)
        self.assertEqual((state_of(service).state, warnings), ("bound", []))

    def test_another_owners_binding_is_refused_in_one_line(self):
        data_dir = Path(self.mktemp())
        data_dir.mkdir()
        write_binding(data_dir, fresh_binding(data_dir, keys=OTHER))
        service, warnings = self.build(data_dir)
        self.assertEqual(state_of(service).state, "unbound")
        self.assertEqual(len(warnings), 1)
        self.assertIn("refused", warnings[0])
        self.assertIn(OTHER.public.hex(), warnings[0])

    def test_help_explains_binding(self):
        usage = " ".join(str(ServerOptions()).split())
        self.assertIn("nostrp2p bind --datadir", usage)
        self.assertIn("unbound", usage)


class RunningServerTests(TestCase):
    timeout = 120

    @async_test
    async def test_the_owners_client_binds_the_overlay_key_the_server_uses(self):
        data_dir = Path(self.mktemp())
        rest_port = free_port()
        with capturedLogs():
            service = make_service(_config(data_dir, rest_port), reactor=reactor)
        service.startService()
        self.addCleanup(lambda: service.stopService() if service.running else None)
        url = f"http://127.0.0.1:{rest_port}/publish"
        made = fresh_binding(data_dir)

        async def publish(event):
            try:
                response = await treq.post(url, data=json.dumps(event.to_json()).encode(),
                                           persistent=False)
                return response.code, await response.json()
            except Exception:
                return None

        async def answered():
            return await publish(made.event) is not None

        await poll_until(reactor, answered, 60, "the REST API never answered")
        self.assertEqual(read_binding(data_dir), made)
        self.assertEqual(state_of(service).state, "bound")
        self.assertEqual(made.overlay_key, service.getServiceNamed("overlay").overlay_key)
        code, body = await publish(fresh_binding(data_dir, keys=OTHER, sequence=2).event)
        self.assertEqual((code, body["Field"]), (403, "pubkey"))
        self.assertEqual(read_binding(data_dir), made)
        await service.stopService()
