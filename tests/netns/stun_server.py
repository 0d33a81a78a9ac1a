"""Run inside a namespace: a bare STUN server on the given ports (one socket each), until killed."""

import selectors
import socket
import sys

from nostrp2p.mesh import stun


def main(host: str, ports: list[int]) -> None:
    selector = selectors.DefaultSelector()
    for port in ports:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, port))
        selector.register(sock, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            data, source = key.fileobj.recvfrom(2048)
            try:
                reply = stun.answer(data, source)
            except stun.StunError:
                continue
            if reply:
                key.fileobj.sendto(reply, source)


if __name__ == "__main__":
    main(sys.argv[1], [int(p) for p in sys.argv[2:]])
