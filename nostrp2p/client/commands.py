"""The client commands of ``nostrp2p``: status, post, reply, follow, timeline."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from ..admin.paths import admin_socket_path
from ..nostr import sign_event
from ..nostr.keys import nip19_encode
from . import limits
from .compose import FOLLOW_LIST, TEXT_NOTE, follow_tags, parse_event_id, parse_pubkey, reply_tags
from .errors import ClientError
from .http import admin_get
from .rest import RestClient
from .secret import SECRET_ENV, load_key_pair
from .status_text import render_status
from .timeline_text import profile_name, render_timeline

SERVER_ENV = "NOSTRP2P_SERVER"
DEFAULT_SERVER = "http://127.0.0.1:20001"
COMMANDS = ("status", "post", "reply", "follow", "timeline")


def add_commands(commands) -> None:
    """Add the client's subcommands to the ``nostrp2p`` argument parser."""
    status = commands.add_parser("status", help="is my server working? (through its admin socket)")
    status.add_argument("--datadir", help="the server's data directory "
                        "[default: $STATE_DIRECTORY, else ~/.nostrp2p]")
    status.add_argument("--json", action="store_true", help="the status document, for scripts")

    def client(name, help_text):
        parser = commands.add_parser(name, help=help_text)
        parser.add_argument("--server", default=os.environ.get(SERVER_ENV, DEFAULT_SERVER),
                            help=f"your server's REST API [default: ${SERVER_ENV}, else {DEFAULT_SERVER}]")
        return parser

    def signing(name, help_text):
        parser = client(name, help_text)
        parser.add_argument("--key-file", help=f"file holding your secret key (nsec or hex) "
                            f"[default: ${SECRET_ENV}, else a prompt]")
        return parser

    signing("post", "publish a post, signed here").add_argument("text")
    reply = signing("reply", "reply to a post, signed here")
    reply.add_argument("event_id", help="the post's id (64 hex, or note1...)")
    reply.add_argument("text")
    signing("follow", "add users to your follow list, signed here").add_argument(
        "npub", nargs="+", help="npub1... or 64 hex public keys")
    timeline = client("timeline", "the posts your server holds, newest first")
    timeline.add_argument("--limit", type=int, default=limits.TIMELINE_EVENTS,
                          help=f"events asked for [default: {limits.TIMELINE_EVENTS}]")


def run(args, out, err) -> int:
    try:
        return _COMMANDS[args.command](args, out)
    except ClientError as e:
        print(f"nostrp2p {args.command}: {e}", file=err)
        return 1


def _status(args, out) -> int:
    from ..config import default_data_dir

    data_dir = Path(args.datadir).expanduser() if args.datadir else default_data_dir()
    socket_path = admin_socket_path(data_dir)
    if not socket_path.exists():
        raise ClientError(f"no server is running with data directory {data_dir} "
                          f"({socket_path} does not exist); give its --datadir")
    code, body = admin_get(str(socket_path), "/status")
    if code != 200:
        raise ClientError(f"the server answered {code}: {body[:200].decode('utf-8', 'replace')}")
    try:
        status = json.loads(body)
    except ValueError:
        raise ClientError("the server's status is not JSON") from None
    out.write(json.dumps(status, indent=1) + "\n" if args.json else render_status(status))
    return 0


def _text(text: str) -> str:
    if not text.strip():
        raise ClientError("nothing to post: the text is empty")
    if len(text.encode("utf-8")) > limits.MAX_POST_BYTES:
        raise ClientError(f"the text is over {limits.MAX_POST_BYTES} bytes")
    return text


def _publish(args, kind: int, tags, content: str):
    keys = load_key_pair(args.key_file)
    event = sign_event(keys.secret, int(time.time()), kind, tags, content)
    RestClient(args.server).publish(event)
    return event


def _post(args, out) -> int:
    event = _publish(args, TEXT_NOTE, [], _text(args.text))
    print(f"posted {event.id.hex()}", file=out)
    return 0


def _reply(args, out) -> int:
    text = _text(args.text)
    parent_id = parse_event_id(args.event_id)
    parent = RestClient(args.server).event(parent_id)
    if parent is None:
        raise ClientError(f"your server does not hold the post {parent_id.hex()}; if it is new, "
                          "try again in a few seconds")
    event = _publish(args, TEXT_NOTE, reply_tags(parent), text)
    print(f"replied {event.id.hex()} to {parent_id.hex()}", file=out)
    return 0


def _follow(args, out) -> int:
    wanted = [parse_pubkey(text) for text in args.npub]
    keys = load_key_pair(args.key_file)
    rest = RestClient(args.server)
    tags, new = follow_tags(rest.follow_list(keys.public), wanted)
    if not new:
        print("already following them all; nothing published", file=out)
        return 0
    event = sign_event(keys.secret, int(time.time()), FOLLOW_LIST, tags, "")
    rest.publish(event)
    for key in new:
        print(f"following {nip19_encode('npub', key)}", file=out)
    print(f"follow list {event.id.hex()}: {sum(1 for t in tags if t[0] == 'p')} followed", file=out)
    return 0


def _timeline(args, out) -> int:
    if not 1 <= args.limit <= limits.TIMELINE_EVENTS:
        raise ClientError(f"--limit must be 1 to {limits.TIMELINE_EVENTS}")
    rest = RestClient(args.server)
    events = rest.timeline(args.limit)
    names = {}
    for author in list(dict.fromkeys(e.pubkey for e in events))[: limits.MAX_PROFILE_LOOKUPS]:
        name = profile_name(rest.profile(author))
        if name:
            names[author] = name
    out.write(render_timeline(events, names, time.time()))
    return 0


_COMMANDS = {"status": _status, "post": _post, "reply": _reply, "follow": _follow,
             "timeline": _timeline}
