"""Lua scripts for the writes that must be atomic.

Redis runs a script without interleaving other commands, so an event, its indexes, the
replaceable "current" pointer and the trimming it causes are written all or nothing.
Byte strings are compared byte by byte: Lua's ``<`` on strings goes through strcoll, which
depends on the server's locale.
"""

_BEFORE = b"""
local function before(a, b)
  for i = 1, 40 do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return false
end
"""

ADD_EVENTS = _BEFORE + b"""
local events, time, kept = KEYS[1], KEYS[2], KEYS[3]
local max_events, trim_batch, author_prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local current_keys = {['0'] = ARGV[4], ['3'] = ARGV[5]}
local data = ARGV[6]

local status, added, pos = {}, 0, 1
while pos <= #data do
  local okey = string.sub(data, pos, pos + 39)
  local pubkey = string.sub(data, pos + 40, pos + 71)
  local kind = string.sub(data, pos + 72, pos + 72)
  local b1, b2, b3, b4 = string.byte(data, pos + 73, pos + 76)
  local size = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  local blob = string.sub(data, pos + 77, pos + 76 + size)
  pos = pos + 77 + size
  if redis.call('HSETNX', events, string.sub(okey, 9, 40), blob) == 0 then
    status[#status + 1] = '0'
  else
    status[#status + 1] = '1'
    added = added + 1
    redis.call('ZADD', author_prefix .. pubkey, 0, okey)
    local current = current_keys[kind]
    local old = current and redis.call('HGET', current, pubkey)
    if current and (not old or before(okey, old)) then
      redis.call('HSET', current, pubkey, okey)
      redis.call('ZADD', kept, 0, okey)
      if old then
        redis.call('ZREM', kept, old)
        redis.call('ZADD', time, 0, old)
      end
    else
      redis.call('ZADD', time, 0, okey)
    end
  end
end

local trimmed = {}
local excess = 0
if added > 0 then
  excess = redis.call('ZCARD', time) + redis.call('ZCARD', kept) - max_events
end
if excess > 0 then
  local oldest = redis.call('ZRANGE', time, -math.min(excess, added + trim_batch), -1)
  for i, okey in ipairs(oldest) do
    local id = string.sub(okey, 9, 40)
    local blob = redis.call('HGET', events, id)
    if blob then
      -- The pubkey follows the id in a whole packed event, leads the stored form.
      local at = string.byte(blob, 1) == 0x97 and 38 or 3
      redis.call('ZREM', author_prefix .. string.sub(blob, at, at + 31), okey)
    end
    trimmed[i] = id
  end
  if #oldest > 0 then
    redis.call('HDEL', events, unpack(trimmed))
    redis.call('ZREMRANGEBYRANK', time, -#oldest, -1)
  end
end
return table.concat(status) .. table.concat(trimmed)
"""
"""Adds events in order, in one call (the adds of one reactor turn, coalesced), then trims.
KEYS: events, time, kept. ARGV: max events, trim batch, author index prefix, current-profile
hash, current-follow-list hash, and the events as one string of records: order key (40
bytes), pubkey (32), kind ('0', '3', or '-' for kinds that are not replaceable), the stored
form's length (4 bytes big-endian) and the stored form (encoding.py). One argument instead of
five per event: the client builds and Redis parses one bulk string.

Every event goes into its author's index and into ``time``, except the current profile and
follow list of each author, which go into ``kept`` instead (and back into ``time`` when
replaced): ``time`` is then exactly what may be trimmed, oldest last. Once the events are in,
and only if the store holds more than ``max events``, the oldest of ``time`` go, at most as
many as were added plus the trim batch (a lowered cap is reached gradually): one ZCARD per call,
not per event.

Returns one string: '1' (new) or '0' (a duplicate, of a stored event or of an earlier one in
the same call) per event, followed by the 32-byte ids of the events trimmed."""

UPGRADE_SCHEMA = b"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, current in ipairs({KEYS[3], KEYS[4]}) do
  local entries = redis.call('HGETALL', current)
  for i = 2, #entries, 2 do
    redis.call('ZREM', KEYS[2], entries[i])
    redis.call('ZADD', KEYS[5], 0, entries[i])
  end
end
redis.call('DEL', KEYS[1])
return 1
"""
"""Once, at start, for a store written by a version that kept every event in ``time`` and the
trimmable ones again in ``np:trim``: the current replaceables move from ``time`` to ``kept``
and ``np:trim`` goes. KEYS: old trim index, time, current-profile hash, current-follow-list
hash, kept. Returns 1 when it upgraded."""

MARK_REFRESHED = b"""
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[3]) then
  local victim = redis.call('HRANDFIELD', KEYS[1])
  if victim ~= ARGV[1] then redis.call('HDEL', KEYS[1], victim) end
end
return 1
"""
"""KEYS: the stamps hash. ARGV: pubkey, time, bound."""

ENQUEUE_RESEND = b"""
local items, due, seq = KEYS[1], KEYS[2], KEYS[3]
if redis.call('HLEN', items) >= tonumber(ARGV[3]) then
  local victim = redis.call('ZRANGE', due, 0, 0)[1]
  if victim then
    redis.call('HDEL', items, victim)
    redis.call('ZREM', due, victim)
  end
end
local id = tostring(redis.call('INCR', seq))
redis.call('HSET', items, id, ARGV[1])
redis.call('ZADD', due, ARGV[2], id)
return id
"""
"""KEYS: items, due, seq. ARGV: packed item, due time, bound. Returns the new item id."""

RESCHEDULE_RESEND = b"""
local items, due = KEYS[1], KEYS[2]
if redis.call('HEXISTS', items, ARGV[1]) == 0 then return 0 end
redis.call('HSET', items, ARGV[1], ARGV[2])
redis.call('ZADD', due, ARGV[3], ARGV[1])
return 1
"""
"""KEYS: items, due. ARGV: item id, repacked item, new due time."""

REMOVE_RESEND = b"""
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

READ_PAGE = _BEFORE + b"""
local count = tonumber(ARGV[3])
local page = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, count)
if KEYS[3] then
  -- The time index without the current replaceables: merge in those of the same range.
  local extra = redis.call('ZRANGEBYLEX', KEYS[3], ARGV[1], ARGV[2], 'LIMIT', 0, count)
  if #extra > 0 then
    local merged, i, j = {}, 1, 1
    while #merged < count and (i <= #page or j <= #extra) do
      if j > #extra or (i <= #page and before(page[i], extra[j])) then
        merged[#merged + 1] = page[i]; i = i + 1
      else
        merged[#merged + 1] = extra[j]; j = j + 1
      end
    end
    page = merged
  end
end
if #page == 0 then return cmsgpack.pack({}, {}) end
local ids = {}
for i, key in ipairs(page) do ids[i] = string.sub(key, 9, 40) end
return cmsgpack.pack(page, redis.call('HMGET', KEYS[2], unpack(ids)))
"""
"""One page of an index and the packed events it names, as one MessagePack reply: the client's
reply parser costs a reactor turn per multi-bulk element, one bulk string is far cheaper.
KEYS: index, events, and for the time index the kept index too. ARGV: start, end, count.
Returns pack(order keys) .. pack(stored forms or false)."""

READ_EVENTS = b"""
return cmsgpack.pack(redis.call('HMGET', KEYS[1], unpack(ARGV)))
"""
"""KEYS: events. ARGV: ids. Returns pack(stored forms or false)."""
