"""Lua scripts for the writes that must be atomic.

Redis runs a script without interleaving other commands, so an event, its indexes, the
replaceable "current" pointer and the trimming it causes are written all or nothing.
Byte strings are compared byte by byte: Lua's ``<`` on strings goes through strcoll, which
depends on the server's locale.
"""

ADD_EVENTS = b"""
local events, time, trimmable = KEYS[1], KEYS[2], KEYS[3]
local max_events, batch, author_prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local current_keys = {['0'] = ARGV[4], ['3'] = ARGV[5]}

local function before(a, b)
  for i = 1, 40 do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return false
end

local results = {}
for i = 6, #ARGV, 5 do
  local id, blob, okey, pubkey, kind = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local result = {1}
  if redis.call('HSETNX', events, id, blob) == 0 then
    result = {0}
  else
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
    local excess = redis.call('ZCARD', time) - max_events
    if excess > 0 then
      local oldest = redis.call('ZRANGE', trimmable, -math.min(excess, batch), -1)
      for _, member in ipairs(oldest) do
        local gone_key, gone_author = string.sub(member, 1, 40), string.sub(member, 41)
        local gone_id = string.sub(member, 9, 40)
        redis.call('HDEL', events, gone_id)
        redis.call('ZREM', time, gone_key)
        redis.call('ZREM', trimmable, member)
        redis.call('ZREM', author_prefix .. gone_author, gone_key)
        table.insert(result, gone_id)
      end
    end
  end
  table.insert(results, result)
end
return results
"""
"""Adds events in order, in one call (the ``add`` calls of one reactor turn, coalesced).
KEYS: events, time, trimmable. ARGV: max events, trim batch, author index prefix,
current-profile hash, current-follow-list hash, then per event: id, packed event, order key,
pubkey, kind ('0', '3', or '-' for kinds that are not replaceable). Returns per event
{1, trimmed ids...} for a new event, {0} for a duplicate (of a stored one or an earlier one in
the same call)."""

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
