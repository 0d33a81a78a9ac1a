"""A bounded flood at an overlay server on 127.0.0.1, as a process of its own; it prints what it
sent and what came back as one JSON line.

    python -m tests.mesh.flood PORT KIND RATE SECONDS SOURCE_PORTS

KIND: ``init`` (a fresh forged INIT each time: anyone can make one on an open network),
``replay`` (one INIT, the same bytes every time) or ``stun-replay`` (bare 20-byte STUN Binding
requests and that replayed INIT, in turn). At most RATE x SECONDS datagrams, for at most SECONDS
(plus one to collect late answers), only ever to 127.0.0.1."""

import json
import os
import socket
import sys
import time

from nostrp2p.mesh import crypto, stun

TARGET_HOST = "127.0.0.1"  # never anything else
BARE_STUN = stun.encode(stun.BINDING_REQUEST, b"\x01" * 12, fingerprint=False)


def forged_init() -> bytes:
    return crypto.make_init(crypto.ZERO_NETWORK_KEY, os.urandom(32), os.urandom(32), os.urandom(32),
                            int.from_bytes(os.urandom(4), "big") or 1)


def main(port, kind, rate, seconds, source_ports):
    target = (TARGET_HOST, int(port))
    rate, seconds = float(rate), float(seconds)
    sockets = []
    for _ in range(int(source_ports)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((TARGET_HOST, 0))
        s.setblocking(False)
        sockets.append(s)
    replayed = forged_init()
    total = int(rate * seconds)
    sent = sent_bytes = received = received_bytes = 0
    start = time.monotonic()

    def collect():
        nonlocal received, received_bytes
        for s in sockets:
            while True:
                try:
                    data = s.recv(2048)
                except BlockingIOError:
                    break
                received += 1
                received_bytes += len(data)

    while sent < total and time.monotonic() - start < seconds + 1:
        due = start + sent / rate
        if time.monotonic() < due:
            collect()
            time.sleep(min(0.001, max(0.0, due - time.monotonic())))
            continue
        if kind == "init":
            datagram = forged_init()
        elif kind == "replay" or sent % 2:
            datagram = replayed
        else:
            datagram = BARE_STUN
        sockets[sent % len(sockets)].sendto(datagram, target)
        sent += 1
        sent_bytes += len(datagram)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        collect()
        time.sleep(0.01)
    print(json.dumps({"sent": sent, "sent_bytes": sent_bytes, "received": received,
                      "received_bytes": received_bytes, "seconds": time.monotonic() - start}))


if __name__ == "__main__":
    main(*sys.argv[1:])
