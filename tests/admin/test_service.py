"""The admin socket of a running overlay: who may connect, and what a restart finds."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path
from types import SimpleNamespace

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from nostrp2p.admin.paths import admin_socket_path
from nostrp2p.admin.service import AdminService
from nostrp2p.client.http import admin_get
from nostrp2p.mesh.service import MeshService

OWNER = b"\x07" * 32


class _NoStore:
    store = None

    def when_ready(self):
        return Deferred()  # never ready: the admin endpoint answers without a store


class AdminSocketTests(TestCase):
    def setUp(self):
        # A short path: unix socket paths are limited to 107 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="np2p-admin-"))
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.chmod(self.dir, 0o700)
        self.config = SimpleNamespace(data_dir=self.dir, owner_pubkey=OWNER, bootstrap=(),
                                      rest_endpoint="tcp:0")
        self.mesh = MeshService(("127.0.0.1", 0), str(self.dir / "overlay.key"), OWNER, (), reactor)
        self.mesh.startService()
        self.addCleanup(self.mesh.stopService)

    def admin(self) -> AdminService:
        service = AdminService(self.config, _NoStore(), self.mesh, reactor)
        service.startService()
        self.addCleanup(service.stopService)
        return service

    async def test_status_over_a_socket_only_its_user_may_open(self):
        self.admin()
        path = admin_socket_path(self.dir)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        code, body = await deferToThread(admin_get, str(path), "/status")
        self.assertEqual(code, 200)
        status = json.loads(body)
        self.assertEqual(status["overlay_key"], self.mesh.overlay_key.hex())
        self.assertEqual(status["events_held"], None)
        self.assertIn("event store is not ready", " ".join(status["warnings"]))
        code, body = await deferToThread(admin_get, str(path), "/metrics")
        self.assertEqual(code, 200)
        self.assertIn(b"nostrp2p_overlay_neighbours 0.0", body)

    async def test_a_second_server_on_the_same_directory_leaves_the_first_serving(self):
        self.admin()
        warnings = []
        observer = lambda event: warnings.append(event) if "no admin socket" in event.get("log_format", "") else None
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.admin()  # cannot listen: says why, does not raise
        self.assertEqual(len(warnings), 1)
        code, _ = await deferToThread(admin_get, str(admin_socket_path(self.dir)), "/status")
        self.assertEqual(code, 200)

    async def test_a_socket_left_by_a_crashed_server_is_replaced(self):
        left = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        left.bind(str(admin_socket_path(self.dir)))
        left.close()  # the file stays, nobody listens
        self.admin()
        code, _ = await deferToThread(admin_get, str(admin_socket_path(self.dir)), "/status")
        self.assertEqual(code, 200)
