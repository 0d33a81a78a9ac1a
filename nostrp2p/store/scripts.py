"""Lua scripts for the writes that must be atomic.

Redis runs a script without interleaving other commands, so an event, its indexes, the
replaceable "current" pointer and the trimming it causes are written all or nothing.
Byte strings are compared byte by byte: Lua's ``<`` on strings goes through strcoll, which
depends on the server's locale.
"""

ADD_EVENTS = b"""
local events, time, trimmable = KEYS[1], KEYS[2], KEYS[3]
local max_events, trim_batch, author_prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local current_keys = {['0'] = ARGV[4], ['3'] = ARGV[5]}
local data = ARGV[6]

local function before(a, b)
  for i = 1, 40 do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return false
end

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
    redis.call('ZADD', time, 0, okey)
    redis.call('ZADD', author_prefix .. pubkey, 0, okey)
    local keep = false
    local current = current_keys[kind]
    if current then
      local old = redis.call('HGET', current, pubkey)
      if not old or before(okey, old) then
        redis.call('HSET', current, pubkey, okey)
        keep = true
        if old then redis.call('ZADD', trimmable, 0, old .. pubkey) end
      end
    end
    if not keep then redis.call('ZADD', trimmable, 0, okey .. pubkey) end
  end
end

local trimmed = {}
local excess = added > 0 and redis.call('ZCARD', time) - max_events or 0
if excess > 0 then
  local oldest = redis.call('ZRANGE', trimmable, -math.min(excess, added + trim_batch), -1)
  if #oldest > 0 then
    local ids, okeys = {}, {}
    for i, member in ipairs(oldest) do
      local gone_key = string.sub(member, 1, 40)
      ids[i], okeys[i] = string.sub(member, 9, 40), gone_key
      redis.call('ZREM', author_prefix .. string.sub(member, 41), gone_key)
    end
    redis.call('HDEL', events, unpack(ids))
    redis.call('ZREM', time, unpack(okeys))
    redis.call('ZREMRANGEBYRANK', trimmable, -#oldest, -1)
    trimmed = ids
  end
end
return table.concat(status) .. table.concat(trimmed)
"""
"""Adds events in order, in one call (the adds of one reactor turn, coalesced), then trims.
KEYS: events, time, trimmable. ARGV: max events, trim batch, author index prefix,
current-profile hash, current-follow-list hash, and the events as one string of records:
order key (40 bytes), pubkey (32), kind ('0', '3', or '-' for kinds that are not replaceable),
the packed event's length (4 bytes big-endian) and the packed event. One argument instead of
five per event: the client builds and Redis parses one bulk string.

Once the events are in, and only if the store is over ``max events``, the oldest trimmable
entries go, at most as many as were added plus the trim batch (so a lowered cap is reached
gradually): one ZCARD per call, not per event.

Returns one string: '1' (new) or '0' (a duplicate, of a stored event or of an earlier one in
the same call) per event, followed by the 32-byte ids of the events trimmed."""

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

READ_PAGE = b"""
local page = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
if #page == 0 then return cmsgpack.pack({}, {}) end
local ids = {}
for i, key in ipairs(page) do ids[i] = string.sub(key, 9, 40) end
return cmsgpack.pack(page, redis.call('HMGET', KEYS[2], unpack(ids)))
"""
"""One page of an index and the packed events it names, as one MessagePack reply: the client's
reply parser costs a reactor turn per multi-bulk element, one bulk string is far cheaper.
KEYS: index, events. ARGV: start, end, count. Returns pack(order keys) .. pack(blobs or false)."""

READ_EVENTS = b"""
return cmsgpack.pack(redis.call('HMGET', KEYS[1], unpack(ARGV)))
"""
"""KEYS: events. ARGV: ids. Returns pack(blobs or false)."""
