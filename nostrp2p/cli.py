"""The ``nostrp2p`` command for people: keys, and a shortcut to run the server.

    nostrp2p genkey                     a new key pair, in every form
    nostrp2p key decode KEY             an npub, nsec or hex key in every form
    nostrp2p server [OPTIONS]           the same as: twistd --nodaemon nostrp2p [OPTIONS]
    nostrp2p status|post|reply|follow|timeline   see nostrp2p.client (docs/CLIENT.md)
    nostrp2p bind --datadir DIR         sign the owner binding of the server in DIR (nsec on stdin)
    nostrp2p export / import            events as JSON Lines (nostrp2p/backup.py)
    nostrp2p --version
"""

from __future__ import annotations

import argparse
import os
import sys

from . import backup
from .client import commands as client
from .binding import command as bind_command
from .nostr.keys import KeyFormatError, KeyPair, decode_key, nip19_encode
from .version import VERSION

SECRET_WARNING = (
    "Keep the secret key in your client only. The server needs only the public key "
    "(nostrp2p server --pubkey npub1...); never give it the secret key."
)


def print_key_pair(pair: KeyPair, out) -> None:
    print("Secret Key:", pair.nsec, file=out)
    print("Secret Key (hex):", pair.secret.hex(), file=out)
    print("Public Key:", pair.npub, file=out)
    print("Public Key (hex):", pair.public.hex(), file=out)
    print(file=out)
    print(SECRET_WARNING, file=out)


def genkey(out) -> int:
    print_key_pair(KeyPair.generate(), out)
    return 0


def decode(text: str, out, err) -> int:
    try:
        decoded = decode_key(text)
    except KeyFormatError as e:
        print(f"nostrp2p key decode: {e}", file=err)
        return 2
    if decoded.kind == "npub":
        print("Public Key:", nip19_encode("npub", decoded.key), file=out)
        print("Public Key (hex):", decoded.key.hex(), file=out)
    elif decoded.kind == "nsec":
        print_key_pair(KeyPair.from_secret(decoded.key), out)
    else:
        # Bare hex says nothing of what it is: show both readings.
        print("As a public key:", nip19_encode("npub", decoded.key), file=out)
        print("As a secret key:", nip19_encode("nsec", decoded.key), file=out)
    return 0


def run_server(args: list[str]) -> int:
    from twisted.scripts.twistd import run

    # --pidfile= : a foreground server under a supervisor needs no pid file in the cwd.
    sys.argv = ["twistd", "--nodaemon", "--pidfile=", "nostrp2p", *args]
    run()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nostrp2p", description="NostrP2P keys and server.")
    parser.add_argument("--version", action="version", version=f"nostrp2p {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("genkey", help="generate a new key pair (nsec, hex, npub, hex)")
    key = commands.add_parser("key", help="convert keys between forms")
    key_commands = key.add_subparsers(dest="key_command", required=True)
    key_decode = key_commands.add_parser("decode", help="show an npub, nsec or hex key in every form")
    key_decode.add_argument("key")
    commands.add_parser(
        "server", add_help=False,
        help="run a server in the foreground (twistd --nodaemon nostrp2p); --help lists options",
    )
    backup.add_commands(commands)
    client.add_commands(commands)
    bind_command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        code = _dispatch(argv, out, err)
        if out is sys.stdout:
            out.flush()  # here, not at exit, where a closed pipe could no longer be caught
        return code
    except BrokenPipeError:
        # The reader went away (``nostrp2p genkey | head -1``): what it wanted it has, so
        # no traceback. Python flushes stdout again at exit; point it at /dev/null first.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _dispatch(argv: list[str], out, err) -> int:
    if argv[:1] == ["server"]:
        return run_server(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "genkey":
        return genkey(out)
    if args.command in ("export", "import"):
        return backup.run(args, out, err)
    if args.command in client.COMMANDS:
        return client.run(args, out, err)
    if args.command == "bind":
        return bind_command.run(args, out, err)
    return decode(args.key, out, err)


if __name__ == "__main__":
    sys.exit(main())
