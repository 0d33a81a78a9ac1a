"""Bring a store written by an earlier version to the current layout, once, at start.

Runs before the store is handed to anyone (``RedisEventStore.warm``), so nothing writes
meanwhile. Each step may be interrupted (SIGKILL, a power cut) and simply runs again at the
next start: a key is converted in a copy that replaces it in one RENAME, and entries already
in the current form are left as they are.
"""

from __future__ import annotations

import struct

from ..logging import Logger
from . import keys, scripts

log = Logger()

_OLD_ORDER_KEY_BYTES = 40
_OLD_TIME = struct.Struct(">Q")
_OLD_LATEST = 2**40
SCRATCH = keys.PREFIX + b"upgrade:scratch"  # the converted copy of one index, renamed over it
_WRITE_CHUNK = 4096  # members per ZADD while copying an index
_SCAN_COUNT = 1000


def convert_order_key(key: bytes) -> bytes:
    """An order key of the layout before 2 (8 bytes of ``2**40 - created_at``, then the id) in
    the current layout; a current one as it is."""
    if len(key) != _OLD_ORDER_KEY_BYTES:
        return key
    created_at = _OLD_LATEST - _OLD_TIME.unpack_from(key)[0]
    return keys.order_key(created_at, key[8:])


async def upgrade(redis) -> None:
    await redis.eval(scripts.UPGRADE_SCHEMA, keys=[
        keys.OLD_TRIMMABLE, keys.TIME, keys.CURRENT[0], keys.CURRENT[3], keys.KEPT])
    if await redis.execute_command("GET", keys.SCHEMA) == keys.SCHEMA_VERSION:
        return
    converted = 0
    await redis.execute_command("DEL", SCRATCH)  # an interrupted start's half-made copy
    for index in (keys.TIME, keys.KEPT, keys.UNPROTECTED):
        converted += await _convert_index(redis, index)
    async for author_index in _author_indexes(redis):
        converted += await _convert_index(redis, author_index)
    for current in keys.CURRENT.values():
        converted += await _convert_pointers(redis, current)
    await redis.execute_command("SET", keys.SCHEMA, keys.SCHEMA_VERSION)
    if converted:
        log.info("event store upgraded to 36-byte order keys: {n} index entries rewritten",
                 n=converted)


async def _author_indexes(redis):
    cursor = b"0"
    while True:
        cursor, names = await redis.execute_command(
            "SCAN", cursor, "MATCH", keys.AUTHOR_PREFIX + b"*", "COUNT", _SCAN_COUNT)
        for name in names:
            yield name
        if cursor == b"0":
            return


async def _convert_index(redis, index: bytes) -> int:
    flat = await redis.execute_command("ZRANGE", index, 0, -1, "WITHSCORES")
    members, scores = flat[0::2], flat[1::2]
    if all(len(member) != _OLD_ORDER_KEY_BYTES for member in members):
        return 0
    pairs = [value for score, member in zip(scores, members)
             for value in (score, convert_order_key(member))]
    for start in range(0, len(pairs), 2 * _WRITE_CHUNK):
        await redis.execute_command("ZADD", SCRATCH, *pairs[start:start + 2 * _WRITE_CHUNK])
    await redis.execute_command("RENAME", SCRATCH, index)
    return len(members)


async def _convert_pointers(redis, current: bytes) -> int:
    flat = await redis.execute_command("HGETALL", current)
    old = [(pubkey, okey) for pubkey, okey in zip(flat[0::2], flat[1::2])
           if len(okey) == _OLD_ORDER_KEY_BYTES]
    for start in range(0, len(old), _WRITE_CHUNK):
        chunk = old[start:start + _WRITE_CHUNK]
        await redis.execute_command("HSET", current, *[
            value for pubkey, okey in chunk for value in (pubkey, convert_order_key(okey))])
    return len(old)
