"""The work of ``nostrp2p export`` and ``nostrp2p import`` (see nostrp2p/backup.py): events
read from the store's time index as JSON Lines, and JSON Lines verified and added to the store."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import BinaryIO, Optional

from twisted.internet.defer import gatherResults
from twisted.python.lockfile import FilesystemLock

from .config import DEFAULT_MAX_EVENTS, ConfigError, default_data_dir, read_config_file
from .lifecycle import one_line
from .node.delivery import ACCEPTED_KINDS
from .nostr import EventError, event_from_json_bytes
from .nostr.codec import unpack_event
from .nostr.limits import MAX_EVENT_JSON_BYTES
from .service import REDIS_SUBDIR
from .store import StoreService
from .store.embedded import LOCK_NAME, StoreStartError, socket_path
from .store.encoding import packed_form
from .store.keys import EVENTS

EXPORT_PAGE = 500
"""Events asked of Redis per round trip while exporting (a hint to HSCAN)."""

IMPORT_BATCH = 200
"""Events written per round of concurrent adds while importing."""

MAX_REPORTED_LINES = 10
"""Refused lines named one by one; beyond that only counted."""


async def run_command(reactor, args, out, err) -> int:
    try:
        data_dir, redis_url, max_events = _settings(args)
    except ConfigError as e:
        print(f"nostrp2p {args.command}: {e}", file=err)
        return 1
    link_dir = None
    if redis_url is None and _server_running(data_dir):
        # Reach the running server's redis-server rather than start a second one.
        path, link_dir = socket_path(str(data_dir.resolve() / REDIS_SUBDIR))
        redis_url = f"unix:{path}"
    service = StoreService(str(data_dir / REDIS_SUBDIR), redis_url=redis_url,
                           max_events=max_events, reactor=reactor)
    service.startService()
    try:
        try:
            store = await service.when_ready()
        except (StoreStartError, OSError) as e:
            print(f"nostrp2p {args.command}: the event store did not start: {one_line(e)}",
                  file=err)
            return 1
        if args.command == "export":
            try:
                count = await export_events(service.client, getattr(out, "buffer", out))
            except BrokenPipeError:  # `nostrp2p export | head`: the reader had enough
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # quiet exit
                return 0
            print(f"exported {count} events", file=err)
            return 0
        return await _import_file(store, args.file, err)
    finally:
        await service.stopService()
        if link_dir is not None:
            shutil.rmtree(link_dir, ignore_errors=True)


def _settings(args) -> tuple[Path, Optional[str], int]:
    values = read_config_file(args.config) if args.config else {}
    data_dir = Path(args.datadir or values.get("datadir") or default_data_dir()).expanduser()
    redis_url = args.redis or values.get("redis") or None
    try:
        max_events = int(values.get("max-events") or DEFAULT_MAX_EVENTS)
    except ValueError:
        raise ConfigError("--config: max-events must be a whole number") from None
    return data_dir, redis_url, max_events


def _server_running(data_dir: Path) -> bool:
    """Whether a server holds the data directory (then its redis-server is reached through its
    socket rather than started a second time)."""
    lock_path = data_dir / REDIS_SUBDIR / LOCK_NAME
    if not os.path.lexists(lock_path):
        return False
    lock = FilesystemLock(str(lock_path))
    if lock.lock():
        lock.unlock()
        return False
    return True


async def export_events(redis, out: BinaryIO) -> int:
    """Write every held event, one JSON object per line; how many. It walks the events hash
    itself (HSCAN), so it depends on no index: an event stored or trimmed meanwhile may be
    written or not, and one may come twice (import skips it the second time)."""
    count = 0
    cursor = b"0"
    while True:
        cursor, flat = await redis.execute_command("HSCAN", EVENTS, cursor, b"COUNT", EXPORT_PAGE)
        for event_id, stored in zip(flat[::2], flat[1::2]):
            try:
                event = unpack_event(packed_form(event_id, stored))
            except EventError:  # only a damaged data file: the store skips it too
                continue
            line = json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":"))
            out.write(line.encode("utf-8") + b"\n")
            count += 1
        if cursor in (b"0", 0):
            return count


async def import_events(store, lines: BinaryIO, err) -> tuple[int, int, int]:
    """Add the events of ``lines``; (new, already held, refused lines)."""
    added = held = refused = 0
    batch: list = []

    async def flush():
        nonlocal added, held
        results = await gatherResults([store.add(e) for e in batch], consumeErrors=True)
        added += sum(1 for new in results if new)
        held += sum(1 for new in results if not new)
        batch.clear()

    number = 0
    while True:
        line = lines.readline(MAX_EVENT_JSON_BYTES + 1)
        if not line:
            break
        number += 1
        reason = None
        if len(line) > MAX_EVENT_JSON_BYTES and not line.endswith(b"\n"):
            reason = f"longer than {MAX_EVENT_JSON_BYTES} bytes"
            while line and not line.endswith(b"\n"):  # skip the rest of it, boundedly
                line = lines.readline(MAX_EVENT_JSON_BYTES + 1)
        elif not line.strip():
            continue
        else:
            try:
                event = event_from_json_bytes(line.strip())
                if event.kind not in ACCEPTED_KINDS:
                    raise EventError("kind", f"kind {event.kind} is not kept by NostrP2P")
                batch.append(event)
            except EventError as e:
                reason = str(e)
        if reason is not None:
            refused += 1
            if refused <= MAX_REPORTED_LINES:
                print(f"line {number}: refused: {reason}", file=err)
        if len(batch) >= IMPORT_BATCH:
            await flush()
    await flush()
    return added, held, refused


async def _import_file(store, path: str, err) -> int:
    try:
        lines = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as e:
        print(f"nostrp2p import: cannot read {path}: {e.strerror}", file=err)
        return 1
    try:
        added, held, refused = await import_events(store, lines, err)
    finally:
        if lines is not sys.stdin.buffer:
            lines.close()
    print(f"imported {added} new events; {held} already held; {refused} lines refused", file=err)
    return 1 if refused else 0
