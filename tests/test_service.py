"""The whole server in one reactor, as `twistd nostrp2p` builds it: store, overlay, node and REST
started in order, answering the client, and stopped cleanly."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import treq
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase

from nostrp2p.lifecycle import Lifecycle
from nostrp2p.nostr import KeyPair, sign_event
from nostrp2p.nostr.client_wire import decode_events_answer
from nostrp2p.options import ServerOptions
from nostrp2p.service import make_service
from tests.e2e.cluster import free_port, poll_until

OWNER = KeyPair.from_secret(bytes.fromhex("33" * 32))


def async_test(method):
    def wrapper(self):
        return Deferred.fromCoroutine(method(self))
    wrapper.__name__ = method.__name__
    return wrapper


def _config(data_dir: Path, rest_port: int, *extra):
    options = ServerOptions()
    options.parseOptions([
        "--pubkey", OWNER.public.hex(), "--listen", f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
        "--rest", f"tcp:{rest_port}:interface=127.0.0.1", "--datadir", str(data_dir), *extra,
    ])
    return options.config


class FatalRecorder(Lifecycle):
    """Calls ``on_fatal(reason)`` instead of stopping the test's reactor."""

    def __init__(self, on_fatal=None):
        super().__init__(reactor)
        self.on_fatal = on_fatal

    def fatal(self, reason):
        if self.on_fatal is not None:
            self.on_fatal(reason)


class ServiceTests(TestCase):
    timeout = 120

    def _start(self, config, fatal=None):
        service = make_service(config, reactor=reactor, lifecycle=FatalRecorder(fatal))
        service.startService()
        self.addCleanup(lambda: service.stopService() if service.running else None)
        return service

    @async_test
    async def test_serves_the_client_and_stops_cleanly(self):
        data_dir = Path(self.mktemp())
        rest_port = free_port()
        service = self._start(_config(data_dir, rest_port))
        url = f"http://127.0.0.1:{rest_port}"

        async def answers():
            try:
                response = await treq.post(url + "/req", json={"kinds": [40000], "limit": 10},
                                           persistent=False)
                await response.content()
                return response.code == 200
            except Exception:
                return False

        await poll_until(reactor, answers, 60, "the REST API never answered")
        event = sign_event(OWNER.secret, 1_700_000_000, 1, [], "hello, own server")
        response = await treq.post(url + "/publish", data=json.dumps(event.to_json()).encode(),
                                   persistent=False)
        self.assertEqual((response.code, await response.json()), (200, {"Status": "SUCCESS"}))
        response = await treq.post(url + "/req", json={"kinds": [40000], "limit": 10},
                                   persistent=False)
        self.assertEqual([e.id for e in decode_events_answer(await response.content())], [event.id])

        # The overlay key is created once, private to the server's user.
        key_file = data_dir / "overlay.key"
        self.assertEqual(os.stat(key_file).st_mode & 0o777, 0o600)

        await service.stopService()
        with self.assertRaises(Exception):
            await treq.post(url + "/req", json={"kinds": [40000]}, persistent=False)
        # Nothing of the embedded Redis is left running on the data directory.
        self.assertFalse(any((data_dir / "redis").glob("*.sock")))

    @async_test
    async def test_rest_port_in_use_stops_the_server_with_the_reason(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        self.addCleanup(busy.close)
        fatal = Deferred()
        self._start(_config(Path(self.mktemp()), busy.getsockname()[1]), fatal=fatal.callback)
        # trial's timeout fails the test if the server never gives up
        self.assertIn("Address already in use", await fatal)
