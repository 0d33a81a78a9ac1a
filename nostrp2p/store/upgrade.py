"""Bring a store written by an earlier version to the current layout, once, at start.

Runs before the store is handed to anyone (``RedisEventStore.warm``), so nothing writes
meanwhile. Each step may be interrupted (SIGKILL, a power cut) and simply runs again at the
next start: an index is converted by one script into a copy renamed over it, and entries
already in the current form are left as they are. The work is done by scripts inside Redis:
100,000 entries took 4 s on a loaded machine, 24 s when they went through the client.
"""

from __future__ import annotations

from ..logging import Logger
from . import keys, scripts

log = Logger()

SCRATCH = keys.PREFIX + b"upgrade:scratch"  # the converted copy of one index, renamed over it
_SCAN_COUNT = 1000


async def upgrade(redis) -> None:
    await redis.eval(scripts.UPGRADE_SCHEMA, keys=[
        keys.OLD_TRIMMABLE, keys.TIME, keys.CURRENT[0], keys.CURRENT[3], keys.KEPT])
    if await redis.execute_command("GET", keys.SCHEMA) == keys.SCHEMA_VERSION:
        return
    await redis.execute_command("DEL", SCRATCH)  # an interrupted start's half-made copy
    converted = 0
    for index in (keys.TIME, keys.KEPT, keys.UNPROTECTED):
        converted += int(await redis.eval(scripts.UPGRADE_INDEX, keys=[index, SCRATCH]))
    async for author_index in _author_indexes(redis):
        converted += int(await redis.eval(scripts.UPGRADE_INDEX, keys=[author_index, SCRATCH]))
    for current in keys.CURRENT.values():
        converted += int(await redis.eval(scripts.UPGRADE_POINTERS, keys=[current]))
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
