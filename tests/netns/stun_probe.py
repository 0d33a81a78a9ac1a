"""Run inside a namespace: ask STUN servers for this socket's public address, print one
"HOST:PORT" line per server (or "timeout"), all from one local socket as a server would."""

import socket
import sys
import time

from nostrp2p.mesh import stun


def main(servers: list[str]) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    for server in servers:
        host, port = server.rsplit(":", 1)
        transaction = stun.BindingTransaction(now=time.monotonic(), rto=0.2)
        sock.sendto(transaction.datagram(), (host, int(port)))
        while transaction.result is None and transaction.deadline is not None:
            sock.settimeout(max(0.01, transaction.deadline - time.monotonic()))
            try:
                data, _ = sock.recvfrom(2048)
                transaction.on_response(stun.decode(data))
            except socket.timeout:
                again = transaction.on_timer(time.monotonic())
                if again:
                    sock.sendto(again, (host, int(port)))
        result = transaction.result
        print(f"{result[0]}:{result[1]}" if result else "timeout", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
