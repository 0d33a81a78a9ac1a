"""One overlay server (a MeshService on 127.0.0.1) as a process of its own, for tests that need
servers outside the test's reactor (a flood must not share a CPU loop with its target's clock).

    python -m tests.mesh.overlay_process KEY_DIR INDEX [BOOTSTRAP_PORT]

It prints one JSON object a line on stdout: {"listening": port}, {"peers": [owner index, ...]}
whenever its active view changes, {"broadcast": text, "from": owner index} for each broadcast
received, and {"stats": {...}} when asked. It reads commands on stdin: ``broadcast TEXT``,
``stats``, ``quit``."""

import json
import os
import sys

from twisted.internet import reactor, stdio, task
from twisted.protocols.basic import LineReceiver

from nostrp2p.mesh.service import MeshService


def say(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


class Commands(LineReceiver):
    delimiter = b"\n"

    def __init__(self, service):
        self.service = service

    def lineReceived(self, line):
        command, _, argument = line.decode().partition(" ")
        if command == "broadcast":
            self.service.broadcast(argument.encode())
        elif command == "stats":
            say(stats=self.service.stats())
        elif command == "quit":
            self.service.stopService()
            reactor.callLater(0.1, reactor.stop)

    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


def main(key_dir, index, bootstrap_port=None):
    index = int(index)
    bootstrap = [("127.0.0.1", int(bootstrap_port))] if bootstrap_port else []
    service = MeshService(("127.0.0.1", 0), os.path.join(key_dir, f"overlay-{index}.key"),
                          bytes([index]) * 32, bootstrap, reactor)
    service.on_broadcast(
        lambda payload, origin, via: say(broadcast=payload.decode(), **{"from": origin[0]}))
    service.startService()
    say(listening=service.address[1])
    seen = []

    def watch():
        peers = sorted(p.owner_key[0] for p in service.peers())
        if peers != seen:
            seen[:] = peers
            say(peers=peers)

    task.LoopingCall(watch).start(0.05)
    stdio.StandardIO(Commands(service))
    reactor.run()


if __name__ == "__main__":
    main(*sys.argv[1:])
