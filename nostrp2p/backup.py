"""``nostrp2p export`` and ``nostrp2p import``: a server's events as JSON Lines, one NIP-01 event
object per line, the way strfry exports and imports them.

    nostrp2p export [--datadir DIR | --redis URL | --config FILE] > events.jsonl
    nostrp2p import [--datadir DIR | --redis URL | --config FILE] events.jsonl

Both work on a running server (through its embedded redis-server's socket) or a stopped one
(they then start the embedded redis-server on its data directory themselves). Import verifies
every event as the overlay does, applies the store's rules (duplicates are skipped, the newest
profile and follow list win, the --max-events cap holds) and says which lines it refused.
Only events travel this way; docs/OPERATING.md describes the full backup (the resend queue too).
The work is done in nostrp2p/events_jsonl.py.
"""

from __future__ import annotations

import argparse


def add_commands(commands) -> None:
    """Register ``export`` and ``import`` on the ``nostrp2p`` command's subparsers."""
    for name, text in (("export", "write every event as JSON Lines to standard output"),
                       ("import", "add the events of a JSON Lines file (or standard input)")):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--datadir", help="the server's data directory "
                             "[default: from --config, $STATE_DIRECTORY, else ~/.nostrp2p]")
        command.add_argument("--redis",
                             help="an external Redis, redis://HOST:PORT/DB or unix:/PATH")
        command.add_argument("--config", help="the server's config file, for its datadir and redis")
        if name == "import":
            command.add_argument("file", nargs="?", default="-",
                                 help="JSON Lines of events [default: standard input]")


def run(args: argparse.Namespace, out, err) -> int:
    """Run the command in a reactor of its own; its exit status."""
    from twisted.internet.defer import Deferred
    from twisted.internet.task import react

    from .events_jsonl import run_command  # imports the reactor: only once it is wanted

    status = []

    async def main(reactor):
        status.append(await run_command(reactor, args, out, err))

    try:
        react(lambda reactor: Deferred.fromCoroutine(main(reactor)))
    except SystemExit:  # react() always ends with sys.exit
        pass
    return status[0] if status else 1
