"""Lua scripts for the writes that must be atomic.

Redis runs a script without interleaving other commands, so an event, its indexes, the
replaceable "current" pointer and the trimming it causes are written all or nothing.
Byte strings are compared byte by byte: Lua's ``<`` on strings goes through strcoll, which
depends on the server's locale.
"""

from .keys import ORDER_KEY_BYTES, ORDER_TIME_BYTES

_LAYOUT = b"local OKEY, ID_AT = %d, %d\n" % (ORDER_KEY_BYTES, ORDER_TIME_BYTES + 1)
"""The order key's length and where its id starts (keys.py), for the scripts that cut keys."""

_BEFORE = _LAYOUT + b"""
local function before(a, b)
  for i = 1, OKEY do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return false
end
"""

ADD_EVENTS = _BEFORE + b"""
local events, time, kept, unprotected = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local follows, talks = KEYS[5], KEYS[6]
local current_keys = {['0'] = KEYS[7], ['3'] = KEYS[8]}
local now = redis.call('INCR', KEYS[9])
local author_index = {}
for i = 10, #KEYS do author_index[string.sub(KEYS[i], -32)] = KEYS[i] end
local max_events, trim_batch = tonumber(ARGV[1]), tonumber(ARGV[2])
local max_unprotected, owner = tonumber(ARGV[3]), ARGV[4]
local data = ARGV[5]

local function protected(pubkey)
  return pubkey == owner or redis.call('SISMEMBER', follows, pubkey) == 1
    or redis.call('ZSCORE', talks, pubkey) ~= false
end

-- The index entries are gathered and added with one ZADD per index after the loop: each
-- redis.call costs about as much as the work it does (arguments copied, the command looked
-- up, its effect queued for the AOF).
local status, added, pos = {}, 0, 1
local into_time, into_author = {}, {}
local function add_entry(list, okey)
  list[#list + 1] = 0
  list[#list + 1] = okey
end
while pos <= #data do
  local okey = string.sub(data, pos, pos + OKEY - 1)
  local at = pos + OKEY
  local pubkey = string.sub(data, at, at + 31)
  local kind = string.sub(data, at + 32, at + 32)
  local b1, b2, b3, b4 = string.byte(data, at + 33, at + 36)
  local size = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  local blob = string.sub(data, at + 37, at + 36 + size)
  pos = at + 37 + size
  local current = current_keys[kind]
  if redis.call('HSETNX', events, string.sub(okey, ID_AT, OKEY), blob) == 0 then
    status[#status + 1] = '0'
    -- Received again: used, so the last to go among the unprotected.
    if current then redis.call('ZADD', unprotected, 'XX', now, okey) end
  else
    status[#status + 1] = '1'
    added = added + 1
    local entries = into_author[pubkey]
    if not entries then
      entries = {}
      into_author[pubkey] = entries
    end
    add_entry(entries, okey)
    local old = current and redis.call('HGET', current, pubkey)
    if current and (not old or before(okey, old)) then
      redis.call('HSET', current, pubkey, okey)
      redis.call('ZADD', kept, 0, okey)
      if not protected(pubkey) then redis.call('ZADD', unprotected, now, okey) end
      if old then
        redis.call('ZREM', kept, old)
        redis.call('ZREM', unprotected, old)
        add_entry(into_time, old)
      end
    else
      add_entry(into_time, okey)
    end
  end
end
-- At most 2 x ADD_BATCH_MAX values each: well within what unpack can pass.
if #into_time > 0 then redis.call('ZADD', time, unpack(into_time)) end
for pubkey, entries in pairs(into_author) do
  redis.call('ZADD', author_index[pubkey], unpack(entries))
end

-- Each removed event is answered as its order key and its author (whose index the caller cleans:
-- the key is not known before the script runs, so the script may not touch it).
local trimmed = {}
local function forget(okey)
  local id = string.sub(okey, ID_AT, OKEY)
  local blob = redis.call('HGET', events, id)
  local pubkey = string.rep('\\0', 32)
  if blob then
    -- The pubkey follows the id in a whole packed event, leads the stored form.
    local at = string.byte(blob, 1) == 0x97 and 38 or 3
    pubkey = string.sub(blob, at, at + 31)
  end
  trimmed[#trimmed + 1] = okey .. pubkey
  return id, pubkey
end

if added > 0 then
  local budget = added + trim_batch
  local excess = redis.call('ZCARD', time) + redis.call('ZCARD', kept) - max_events
  local spare = redis.call('ZCARD', unprotected)
  -- Unprotected current replaceables go first, least recently used first: over their own
  -- cap, and before any other event when the store is over its cap.
  local drop = math.min(budget, math.max(spare - max_unprotected, math.min(excess, spare)))
  if drop > 0 then
    local unused = redis.call('ZRANGE', unprotected, 0, drop - 1)
    for _, okey in ipairs(unused) do
      local id, pubkey = forget(okey)
      redis.call('HDEL', events, id)
      redis.call('ZREM', kept, okey)
      for _, current in pairs(current_keys) do
        if redis.call('HGET', current, pubkey) == okey then redis.call('HDEL', current, pubkey) end
      end
    end
    redis.call('ZREMRANGEBYRANK', unprotected, 0, #unused - 1)
    excess = excess - #unused
  end
  if excess > 0 then
    local oldest = redis.call('ZRANGE', time, -math.min(excess, budget), -1)
    local ids = {}
    for i, okey in ipairs(oldest) do ids[i] = forget(okey) end
    if #oldest > 0 then
      redis.call('HDEL', events, unpack(ids))
      redis.call('ZREMRANGEBYRANK', time, -#oldest, -1)
    end
  end
end
return table.concat(status) .. table.concat(trimmed)
"""
"""Adds events in order, in one call (the adds of one reactor turn, coalesced), then trims.
KEYS: events, time, kept, unprotected, protected follows, protected talks, current-profile
hash, current-follow-list hash, use clock, then the author index of every author in the batch.
ARGV: max events, trim batch, max unprotected, owner pubkey, and the events as one string of
records: order key (36 bytes), pubkey (32), kind ('0', '3', or '-' for kinds that are not
replaceable), the stored form's length (4 bytes big-endian) and the stored form (encoding.py).
One argument instead of five per event: the client builds and Redis parses one bulk string.

Every event goes into its author's index and into ``time``, except the current profile and
follow list of each author, which go into ``kept`` instead (and back into ``time`` when
replaced): ``time`` is then exactly what may be trimmed, oldest last. The current ones of
authors nobody protects are also in ``unprotected``, scored by the use clock (one tick per
call) when they were last received.
Once the events are in: over ``max unprotected`` or over ``max events``, the least recently
used of ``unprotected`` go first, then the oldest of ``time``, each at most as many as were
added plus the trim batch (a lowered cap is reached gradually): a few ZCARDs per call, not per
event.

Returns one string: '1' (new) or '0' (a duplicate, of a stored event or of an earlier one in
the same call) per event, followed by the 36-byte order key and 32-byte author of each event
removed (zeros if its stored form was missing)."""

PROTECT = b"""
local follows, talks, unprotected = KEYS[1], KEYS[2], KEYS[3]
local currents = {KEYS[4], KEYS[5]}
local now = redis.call('GET', KEYS[6]) or 0
local mode, max_talks, owner = ARGV[1], tonumber(ARGV[3]), ARGV[4]
local touched = {}
if mode == 'follows' then
  touched = redis.call('SMEMBERS', follows)
  redis.call('DEL', follows)
  for i = 5, #ARGV do
    redis.call('SADD', follows, ARGV[i])
    touched[#touched + 1] = ARGV[i]
  end
else
  for i = 5, #ARGV do
    redis.call('ZADD', talks, ARGV[2], ARGV[i])
    touched[#touched + 1] = ARGV[i]
  end
  local over = redis.call('ZCARD', talks) - max_talks
  if over > 0 then
    for _, pubkey in ipairs(redis.call('ZRANGE', talks, 0, over - 1)) do
      touched[#touched + 1] = pubkey
    end
    redis.call('ZREMRANGEBYRANK', talks, 0, over - 1)
  end
end
for _, pubkey in ipairs(touched) do
  local keep = pubkey == owner or redis.call('SISMEMBER', follows, pubkey) == 1
    or redis.call('ZSCORE', talks, pubkey) ~= false
  for _, current in ipairs(currents) do
    local okey = redis.call('HGET', current, pubkey)
    if okey then
      if keep then redis.call('ZREM', unprotected, okey)
      else redis.call('ZADD', unprotected, 'NX', now, okey) end
    end
  end
end
return #touched
"""
"""Whom the owner protects changed: the owner's follow list was replaced (mode 'follows', the
set is replaced by ARGV[5:]) or the owner named authors (mode 'talks', added to the bounded
set, the oldest forgotten). Each author whose protection may have changed has its current
profile and follow list taken out of ``unprotected`` or put (back) in. KEYS: protected follows,
protected talks, unprotected, current-profile hash, current-follow-list hash, use clock. ARGV:
mode, time (the talks' scores), max talks, owner pubkey, pubkeys."""

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

_CONVERT_ORDER_KEY = _LAYOUT + b"""
-- An order key of the layout before 2 (8 bytes of 2^40 - created_at, then the id) in the
-- current one (keys.order_key); any other string as it is. Lua's numbers are doubles, exact
-- far beyond 2^40.
local function convert(key)
  if #key ~= 40 then return key end
  local t = 0
  for i = 1, 8 do t = t * 256 + string.byte(key, i) end
  local created = math.max(0, math.min(1099511627776 - t, 4294967295))
  local p = 4294967295 - created
  return string.char(math.floor(p / 16777216), math.floor(p / 65536) % 256,
                     math.floor(p / 256) % 256, p % 256) .. string.sub(key, 9, 40)
end
"""

UPGRADE_INDEX = _CONVERT_ORDER_KEY + b"""
local flat = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local old = false
for i = 1, #flat, 2 do
  if #flat[i] == 40 then old = true; break end
end
if not old then return 0 end
redis.call('DEL', KEYS[2])
local chunk = {}
for i = 1, #flat, 2 do
  chunk[#chunk + 1] = flat[i + 1]
  chunk[#chunk + 1] = convert(flat[i])
  if #chunk >= 2000 then
    redis.call('ZADD', KEYS[2], unpack(chunk))
    chunk = {}
  end
end
if #chunk > 0 then redis.call('ZADD', KEYS[2], unpack(chunk)) end
redis.call('RENAME', KEYS[2], KEYS[1])
return #flat / 2
"""
"""One index (sorted set of order keys) of the layout before 2 converted (``upgrade.py``):
copied into the scratch key with its scores and renamed over the original, so it is whole in
one form or the other. KEYS: the index, the scratch key. Returns the entries converted (0 if
none was old)."""

UPGRADE_POINTERS = _CONVERT_ORDER_KEY + b"""
local flat = redis.call('HGETALL', KEYS[1])
local converted = 0
for i = 1, #flat, 2 do
  if #flat[i + 1] == 40 then
    redis.call('HSET', KEYS[1], flat[i], convert(flat[i + 1]))
    converted = converted + 1
  end
end
return converted
"""
"""The current-profile or current-follow-list pointers (pubkey -> order key) of the layout
before 2 converted. KEYS: the hash. Returns the pointers converted."""

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
for i, key in ipairs(page) do ids[i] = string.sub(key, ID_AT, OKEY) end
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
