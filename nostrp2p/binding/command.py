"""``nostrp2p bind --datadir DIR``: the owner signs, once, that the overlay key in DIR serves
them (docs/BINDING.md).

The secret key comes from standard input (or ``--nsec-file``), is used to sign, and is dropped:
it is never written, logged or echoed. Only the signed binding is written, as DIR/binding.json.
"""

from __future__ import annotations

import getpass
import os
import sys
import time
from pathlib import Path

from ..config import ConfigError, default_data_dir
from ..nostr.binding import BindingError, make_binding
from ..nostr.keys import KeyFormatError, KeyPair, decode_key, nip19_encode, parse_public_key
from .file import read_binding, write_binding
from .overlay_key import OVERLAY_KEY_FILE, overlay_public_key
from .status import utc_time

DEFAULT_DAYS = 365
MAX_DAYS = 10 * 366  # a binding is renewed; one that never expires cannot be taken back
MAX_SECRET_INPUT = 1024  # an nsec is 63 characters; more than this is not a key


class BindFailed(Exception):
    """One line for the person at the terminal."""


def add_parser(commands) -> None:
    bind = commands.add_parser(
        "bind", help="sign, with the owner's secret key, that this server's overlay key serves "
                     "the owner (reads the nsec from standard input)",
        description="Signs an owner binding for the overlay key in the data directory and "
                    "writes it there as binding.json; the server reads it at start. The "
                    "secret key is read from standard input (or --nsec-file) and never stored.")
    bind.add_argument("--datadir", default=None,
                      help="the server's data directory [default: $STATE_DIRECTORY, "
                           "else ~/.nostrp2p]")
    bind.add_argument("--nsec-file", default=None,
                      help="read the secret key (nsec or hex) from this file instead of "
                           "standard input")
    bind.add_argument("--days", type=int, default=DEFAULT_DAYS,
                      help=f"the binding expires after this many days [default: {DEFAULT_DAYS}]")
    bind.add_argument("--sequence", type=int, default=None,
                      help="the binding's sequence; the newest wins [default: the current unix "
                           "time, or one more than the binding in DIR]")
    bind.add_argument("--pubkey", default=None,
                      help="the server's owner (npub or hex): refuse a secret key that is not "
                           "this owner's")


def run(args, out, err, stdin=None) -> int:
    try:
        print(bind(args, stdin if stdin is not None else sys.stdin), file=out)
    except (BindFailed, BindingError, ConfigError) as e:
        print(f"nostrp2p bind: {e}", file=err)
        return 1
    return 0


def bind(args, stdin) -> str:
    if not 1 <= args.days <= MAX_DAYS:
        raise BindFailed(f"--days must be from 1 to {MAX_DAYS}")
    pair = KeyPair.from_secret(_read_secret(args.nsec_file, stdin))
    if args.pubkey is not None:
        try:
            owner = parse_public_key(args.pubkey)
        except KeyFormatError as e:
            raise BindFailed(f"--pubkey: {e}") from None
        if owner != pair.public:
            raise BindFailed(f"this secret key is {pair.npub}'s, not the owner's "
                             f"{nip19_encode('npub', owner)}")
    data_dir = _data_dir(args.datadir)
    overlay_key = overlay_public_key(data_dir)
    now = int(time.time())
    previous = _previous(data_dir, overlay_key, pair.public)
    sequence = _sequence(args.sequence, previous, now)
    expires_at = now + args.days * 86400
    binding = make_binding(pair.secret, overlay_key, sequence, expires_at, now)
    path = write_binding(data_dir, binding)
    _give_to_directory_owner(data_dir, (path, data_dir / OVERLAY_KEY_FILE))
    return (f"Bound overlay key {overlay_key.hex()} to {pair.npub} until {utc_time(expires_at)} "
            f"(sequence {sequence}), in {path}. A running server reads it when it starts "
            "again; or publish the same binding from your client.")


def _read_secret(nsec_file: str | None, stdin) -> bytes:
    if nsec_file is not None:
        try:
            with open(nsec_file, encoding="utf-8") as handle:
                text = handle.read(MAX_SECRET_INPUT)
        except (OSError, UnicodeDecodeError) as e:
            raise BindFailed(f"--nsec-file: cannot read {nsec_file}: "
                             f"{getattr(e, 'strerror', None) or e}") from None
    elif stdin.isatty():
        text = getpass.getpass("Owner's secret key (nsec), not echoed: ")
    else:
        text = stdin.readline(MAX_SECRET_INPUT)
    try:
        decoded = decode_key(text)
    except KeyFormatError:
        # Never repeat what was typed: it may be a secret with a typo in it.
        raise BindFailed("expected the owner's secret key, an nsec1... or 64 hex characters") \
            from None
    if decoded.kind == "npub":
        raise BindFailed("this is a public key (npub); signing needs the secret key (nsec)")
    try:
        KeyPair.from_secret(decoded.key)
    except ValueError:
        raise BindFailed("this is not a valid secp256k1 secret key") from None
    return decoded.key


def _data_dir(option: str | None) -> Path:
    path = Path(option).expanduser() if option else default_data_dir()
    try:
        # 0700 as the server makes it: it holds the overlay's secret key.
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise BindFailed(f"--datadir: cannot create {path}: {e.strerror}") from None
    return path


def _give_to_directory_owner(data_dir: Path, paths) -> None:
    """Run as root on the directory of a server running as its own user (systemd's
    DynamicUser), the files written here must be that user's, or the server cannot read its
    binding (0600) nor replace it."""
    if os.geteuid() != 0:
        return
    owner = os.stat(data_dir)
    if owner.st_uid == 0:
        return
    for path in paths:
        os.chown(path, owner.st_uid, owner.st_gid)


def _previous(data_dir: Path, overlay_key: bytes, owner: bytes):
    """The binding already in DIR, when it is this owner's for this key (to count on from)."""
    try:
        previous = read_binding(data_dir)
    except BindingError:
        return None  # unreadable or forged: the new binding replaces it
    if previous is None or previous.owner != owner or previous.overlay_key != overlay_key:
        return None
    return previous


def _sequence(requested: int | None, previous, now: int) -> int:
    if requested is None:
        # The unix time keeps counting up across machines: a binding made on a new server
        # supersedes the old server's without knowing its sequence.
        return now if previous is None else max(now, previous.sequence + 1)
    if requested < 0:
        raise BindFailed("--sequence must not be negative")
    if previous is not None and requested <= previous.sequence:
        raise BindFailed(f"--sequence {requested} would not replace the binding in the data "
                         f"directory (sequence {previous.sequence})")
    return requested
