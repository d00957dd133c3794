"""The Lua scripts behind the tagged cache. Each runs atomically inside Redis, which is what
makes the version checks race-free: no command of another client can fall between a
script's reads and its writes.

Key layout (`P` is the cache's prefix):

- `P:seq`          one counter; every tag bump takes the next value from it
- `P:v:<tag>`      the sequence number of the tag's last bump (absent means 0)
- `P:m:<tag>`      sorted set of writers about to commit a change to the tag
                   (member: writer token, score: deadline in Redis milliseconds)
- `P:e:<name>:<h>` an entry: hash of `b` (body), `s` (stored at, ms) and one `t:<tag>`
                   field per tag holding the tag's version when the entry was computed

Scripts touch keys derived from their arguments, so they assume one Redis server (not a
cluster), as does the rest of the application."""

from __future__ import annotations

# lookup(entry, seq, version-key prefix): {1, body, stored_at} for a valid entry, else
# {0, current seq}: the seq a miss must remember, read before the caller touches the
# database. A function, so that other scripts can look up in the same round trip.
LOOKUP_FUNCTION = """
local function lookup(entry_key, seq_key, version_prefix)
  local entry = redis.call('HGETALL', entry_key)
  if #entry > 0 then
    local body = false
    local stored = '0'
    local valid = true
    for i = 1, #entry, 2 do
      local field = entry[i]
      if field == 'b' then
        body = entry[i + 1]
      elseif field == 's' then
        stored = entry[i + 1]
      else
        local current = redis.call('GET', version_prefix .. string.sub(field, 3)) or '0'
        if current ~= entry[i + 1] then
          valid = false
          break
        end
      end
    end
    if valid and body then
      return {1, body, stored}
    end
  end
  return {0, redis.call('GET', seq_key) or '0'}
end
"""

# KEYS: entry, seq. ARGV: version-key prefix.
LOOKUP = LOOKUP_FUNCTION + "return lookup(KEYS[1], KEYS[2], ARGV[1])\n"

# KEYS: entry. ARGV: since, ttl ms, body, version prefix, mark prefix, tags...
# Stores only if no tag is being changed right now and none was bumped after `since`.
STORE = """
local since = tonumber(ARGV[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local fields = {'b', ARGV[3], 's', tostring(now)}
for i = 6, #ARGV do
  local tag = ARGV[i]
  if redis.call('ZCOUNT', ARGV[5] .. tag, now, '+inf') > 0 then
    return 0
  end
  local version = redis.call('GET', ARGV[4] .. tag) or '0'
  if tonumber(version) > since then
    return 0
  end
  fields[#fields + 1] = 't:' .. tag
  fields[#fields + 1] = version
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: seq. ARGV: token, mark ttl ms, version ttl ms, version prefix, mark prefix,
# mode ('mark' before the commit, 'release' after it or after a rollback), tags...
# Bumps every tag to a new sequence number, then marks or unmarks the writer.
BUMP = """
local seq = redis.call('INCR', KEYS[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local mark_ttl = tonumber(ARGV[2])
for i = 7, #ARGV do
  local tag = ARGV[i]
  redis.call('SET', ARGV[4] .. tag, seq, 'PX', ARGV[3])
  local marks = ARGV[5] .. tag
  if ARGV[6] == 'mark' then
    redis.call('ZREMRANGEBYSCORE', marks, '-inf', now)
    redis.call('ZADD', marks, now + mark_ttl, ARGV[1])
    redis.call('PEXPIRE', marks, mark_ttl)
  elseif ARGV[6] == 'release' then
    redis.call('ZREM', marks, ARGV[1])
  end
end
return seq
"""
