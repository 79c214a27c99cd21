-- The job store's atomic steps (server/jobs/redis_store.py; layout in docs/redis.md).
-- ARGV[1] names the step, ARGV[2] is the key prefix, ARGV[3] and ARGV[4] the change feeds' caps (jobs in
-- the all-jobs feed and in one owner's feed: redis_store.FEED_MAX / OWNER_FEED_MAX); the other ARGV
-- are the step's own.
-- Every multi-key change happens in one script: guard + version bump + change-feed ZADD + PUBLISH.
local op, P = ARGV[1], ARGV[2]
local FEED_MAX, OWNER_FEED_MAX = tonumber(ARGV[3]), tonumber(ARGV[4])
local NOTIFIED = 10          -- server.jobs.store.NOTIFIED_POSITIONS

local function is_terminal(status) return status == 'completed' or status == 'failed' end

-- Job ids in the job's key name and in the per-job indexes (`all`, `owner:`, `feed`, `feed:`,
-- `done:`) are compact: a canonical lower-case UUID (every id the server mints or accepts) is NUL +
-- its 16 bytes (17 bytes instead of 36); any other id is itself. The queue, leases, dedupe keys,
-- tombstones and messages hold ids as they are.
local HEX = '[0-9a-f]'
local UUID = '^(' .. string.rep(HEX, 8) .. ')%-(' .. string.rep(HEX, 4) .. ')%-(' .. string.rep(HEX, 4) ..
  ')%-(' .. string.rep(HEX, 4) .. ')%-(' .. string.rep(HEX, 12) .. ')$'
local UUID_TEXT = '%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x'

local function bytes4(hex)  -- 8 hex digits -> their 4 bytes, most significant first
  local n = tonumber(hex, 16)
  return math.floor(n / 16777216), math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256
end

local function cid(id)
  local a, b, c, d, e = string.match(id, UUID)
  if not a then return id end
  local b1, b2, b3, b4 = bytes4(a)
  local b5, b6, b7, b8 = bytes4(b .. c)
  local b9, b10, b11, b12 = bytes4(d .. string.sub(e, 1, 4))
  local b13, b14, b15, b16 = bytes4(string.sub(e, 5))
  return string.char(0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16)
end

local function tid(member)
  if #member ~= 17 or string.byte(member, 1) ~= 0 then return member end
  return string.format(UUID_TEXT, string.byte(member, 2, 17))
end

-- A job is one string key `P j:{compact id}`: a header the scripts read and write, then the record the
-- Python side encodes (redis_store.pack_job / unpack_job are the same format):
--   "{version} {number} {status} {len}:{type}{len}:{owner}{len}:{dedupe key}{format}{record}"
-- (lengths in bytes; `format` is one character naming how the record is encoded). One key, and no
-- hash: a hash with a value over 64 bytes is a hashtable in Redis (~0.6 KB more per job).
-- The header's fields, and where the record starts (`job.r` is not read: a read needs no copy of it).
local function unpack_header(raw)
  local v, n, s, p = string.match(raw, '^(%d+) (%d+) (%a+) ()')
  local job = {v = v, n = n, s = s}
  for _, field in ipairs({'t', 'o', 'd'}) do
    local len, q = string.match(raw, '^(%d+):()', p)
    p = q + tonumber(len)
    job[field] = string.sub(raw, q, p - 1)
  end
  return job, p
end

local function unpack_job(raw)
  local job, p = unpack_header(raw)
  job.r = string.sub(raw, p)  -- format character + record
  return job
end

local function pack_job(job)
  return job.v .. ' ' .. job.n .. ' ' .. job.s .. ' ' .. #job.t .. ':' .. job.t .. #job.o .. ':' .. job.o ..
    #job.d .. ':' .. job.d .. job.r
end

-- The job `id`, or nil. A job written by the previous release (a hash `P job:{id}`: `j` record,
-- `v`, `n`, `s`, `t`, `o`, `d`) is read as format '1' and moves to `P j:{id}` at its next write.
local function load(id)
  local raw = redis.call('GET', P .. 'j:' .. cid(id))
  if raw then return unpack_job(raw) end
  local h = redis.call('HMGET', P .. 'job:' .. id, 'j', 'v', 'n', 's', 't', 'o', 'd')
  if not h[1] then return nil end
  return {r = '1' .. h[1], v = h[2], n = h[3], s = h[4], t = h[5], o = h[6], d = h[7] or '', legacy = true}
end

-- A job of the previous release moves to its new key at its first write (`moved`: its change
-- feed entries are then re-spelt; its other index entries go when the job goes).
local function save(id, job)
  redis.call('SET', P .. 'j:' .. cid(id), pack_job(job))
  if job.legacy then
    redis.call('DEL', P .. 'job:' .. id)
    job.legacy, job.moved = nil, true
  end
end

local function queue_rank(id, job)
  if job.s ~= 'pending' then return '' end
  local r = redis.call('ZRANK', P .. 'queue:' .. job.t, id)
  if r then return r + 1 end
  return ''
end

-- A change feed is a sorted set of job ids scored by the sequence number of their latest change: a
-- job is in it once, however often it changed (a reader gets the job's current state anyway). Past
-- `max` jobs the oldest change leaves and the feed's floor (HSET/SET `floor_key`) rises to it, so a
-- cursor below the floor answers 410.
local function feed_add(key, seq, member, max, floor_key, floor_field)
  redis.call('ZADD', key, seq, member)
  if redis.call('ZCARD', key) > max then
    local oldest = redis.call('ZPOPMIN', key)
    if floor_field then
      redis.call('HSET', floor_key, floor_field, oldest[2])
    else
      redis.call('SET', floor_key, oldest[2])
    end
  end
end

-- A change of job `id`: both feeds get an entry and every process hears of it.
-- (`job` is the job as just saved.)
local function record_change(id, job)
  local member = cid(id)
  if job.moved then redis.call('ZREM', P .. 'feed', id); redis.call('ZREM', P .. 'feed:' .. job.o, id) end
  local seq = redis.call('INCR', P .. 'seq')
  feed_add(P .. 'feed', seq, member, FEED_MAX, P .. 'floor', nil)
  local oseq = redis.call('HINCRBY', P .. 'meta:' .. job.o, 'seq', 1)
  feed_add(P .. 'feed:' .. job.o, oseq, member, OWNER_FEED_MAX, P .. 'meta:' .. job.o, 'floor')
  redis.call('PUBLISH', P .. 'changes', seq .. '\n' .. queue_rank(id, job) .. '\n' .. id .. '\n' .. pack_job(job))
end

-- Queued jobs now among the first NOTIFIED get a new version so their waiters see the new position.
local function bump_positions(job_type, start)
  if start >= NOTIFIED then return end
  local ids = redis.call('ZRANGE', P .. 'queue:' .. job_type, start, NOTIFIED - 1)
  for _, id in ipairs(ids) do
    local job = load(id)
    job.v = tonumber(job.v) + 1
    save(id, job)
    record_change(id, job)
  end
end

local function dequeue(id, job_type)
  local rank = redis.call('ZRANK', P .. 'queue:' .. job_type, id)
  if rank then
    redis.call('ZREM', P .. 'queue:' .. job_type, id)
    bump_positions(job_type, rank)
  end
end

-- A job that ends or goes releases its dedupe key (if it still holds it).
local function release_dedupe(id, job)
  local d = job.d
  if d ~= '' and redis.call('GET', P .. 'dedupe:' .. d) == id then redis.call('DEL', P .. 'dedupe:' .. d) end
end

-- `P expiry` holds each owner with a finished job, scored by their oldest completion time: the
-- retention sweep finds what is due through it and the owners' `done:{owner}` sets.
local function refresh_expiry(owner)
  local oldest = redis.call('ZRANGE', P .. 'done:' .. owner, 0, 0, 'WITHSCORES')
  if oldest[2] then
    redis.call('ZADD', P .. 'expiry', oldest[2], owner)
  else
    redis.call('ZREM', P .. 'expiry', owner)
  end
end

local function remove(id, tomb_ttl)
  local job = load(id)
  if not job then return false end
  local o, member = job.o, cid(id)
  release_dedupe(id, job)
  redis.call('DEL', P .. 'j:' .. member, P .. 'job:' .. id)
  -- Both spellings: an entry written by the previous release holds the id as text.
  redis.call('ZREM', P .. 'all', member, id)
  redis.call('ZREM', P .. 'owner:' .. o, member, id)
  if redis.call('ZREM', P .. 'done:' .. o, member, id) > 0 then refresh_expiry(o) end
  redis.call('ZREM', P .. 'feed', member, id)
  redis.call('ZREM', P .. 'feed:' .. o, member, id)
  local seq = redis.call('INCR', P .. 'seq')
  redis.call('SET', P .. 'removed', seq)
  local m = P .. 'meta:' .. o
  local oseq = redis.call('HINCRBY', m, 'seq', 1)
  redis.call('HSET', m, 'removed', oseq)
  local left = tonumber(redis.call('ZINCRBY', P .. 'owners', -1, o))
  if left <= 0 then  -- the owner's last job: no index of theirs is left behind
    redis.call('ZREM', P .. 'owners', o)
    redis.call('DEL', m, P .. 'feed:' .. o, P .. 'owner:' .. o, P .. 'done:' .. o)
  end
  if redis.call('ZCARD', P .. 'all') == 0 then redis.call('DEL', P .. 'feed', P .. 'floor') end
  redis.call('SET', P .. 'tomb:' .. id, o, 'EX', tomb_ttl)
  redis.call('PUBLISH', P .. 'removed', id)  -- every process drops its cached copy
  return true
end

-- The finished job to evict so `creator` can store one more (issue 11, item 7): an owner at or over
-- the fair share evicts their own oldest finished job first; otherwise the owner furthest over it.
local function eviction_victim(creator, max_jobs)
  local mine = tonumber(redis.call('ZSCORE', P .. 'owners', creator) or '0')
  local owners = redis.call('ZCARD', P .. 'owners')
  if mine == 0 then owners = owners + 1 end
  local share = math.max(1, math.floor(max_jobs / math.max(1, owners)))
  if mine >= share then
    local own = redis.call('ZRANGE', P .. 'done:' .. creator, 0, 0)[1]
    if own then return tid(own) end
  end
  for _, o in ipairs(redis.call('ZREVRANGEBYSCORE', P .. 'owners', '+inf', '(' .. share)) do
    local oldest = redis.call('ZRANGE', P .. 'done:' .. o, 0, 0)[1]
    if oldest then return tid(oldest) end
  end
  return nil
end

-- {id, the stored job (header + record; false when there is none), queue position or ''}
-- (The poll path: only a pending job's header is parsed.)
local function job_row(id)
  local raw = redis.call('GET', P .. 'j:' .. cid(id))
  if raw then
    if string.match(raw, '^%d+ %d+ (%a+) ') ~= 'pending' then return {id, raw, ''} end
    return {id, raw, queue_rank(id, unpack_header(raw))}
  end
  local job = load(id)  -- none, or stored by the previous release
  if not job then return {id, false, ''} end
  return {id, pack_job(job), queue_rank(id, job)}
end

-- Leases are scored by their end on Redis's clock (ms): the holder sends a duration, and expiry is
-- judged by the same clock, so hosts whose clocks disagree never take over a healthy job. (Scripts
-- are replicated by their effects, so TIME is allowed before a write: Redis >= 5, Valkey.)
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function enqueue_front(id, job_type)
  local q = P .. 'queue:' .. job_type
  if redis.call('ZSCORE', q, id) then return end
  local head = redis.call('ZRANGE', q, 0, 0, 'WITHSCORES')
  local ticket
  if head[2] then ticket = tonumber(head[2]) - 1 else ticket = redis.call('INCR', P .. 'ticket:' .. job_type) end
  redis.call('ZADD', q, ticket, id)
end

if op == 'create' then
  local id, owner, job_type, record = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
  local max_active, max_jobs, tomb_ttl, gen = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11], ARGV[12]
  local dedupe = ARGV[13]
  local m = P .. 'meta:' .. owner
  if dedupe ~= '' then  -- an active job holding the key is the answer; a stale key is taken over
    local holder = redis.call('GET', P .. 'dedupe:' .. dedupe)
    if holder then
      local held = load(holder)
      if held and not is_terminal(held.s) then return {'exists', holder} end
    end
  end
  if max_active >= 0 and tonumber(redis.call('HGET', m, 'active') or '0') >= max_active then
    return {'too_many_active'}
  end
  local victim = ''
  if redis.call('ZCARD', P .. 'all') >= max_jobs then
    victim = eviction_victim(owner, max_jobs)
    if not victim then return {'store_full'} end
    remove(victim, tomb_ttl)
  end
  local number = redis.call('INCR', P .. 'number')
  local job = {v = 1, n = number, s = 'pending', t = job_type, o = owner, d = dedupe, r = record}
  save(id, job)
  redis.call('ZADD', P .. 'all', number, cid(id))
  redis.call('ZADD', P .. 'owner:' .. owner, number, cid(id))
  redis.call('ZINCRBY', P .. 'owners', 1, owner)
  redis.call('HSETNX', m, 'gen', gen)
  redis.call('HINCRBY', m, 'active', 1)
  redis.call('ZADD', P .. 'queue:' .. job_type, redis.call('INCR', P .. 'ticket:' .. job_type), id)
  if dedupe ~= '' then redis.call('SET', P .. 'dedupe:' .. dedupe, id) end
  record_change(id, job)
  redis.call('PUBLISH', P .. 'queued', job_type)
  return {'ok', number, victim}

elseif op == 'write' then
  -- Compare-and-set on the version: the caller checked the transition on the version it read.
  local id, expected, record, status, completed_ms = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
  local job = load(id)
  if not job then return {'gone'} end
  if job.v ~= expected then return {'conflict'} end
  local was = job.s
  job.v, job.s, job.r = tonumber(job.v) + 1, status, record
  if is_terminal(status) and not is_terminal(was) then
    release_dedupe(id, job)
    job.d = ''
  end
  save(id, job)
  if was == 'pending' and status ~= 'pending' then dequeue(id, job.t) end
  if is_terminal(status) and not is_terminal(was) then
    redis.call('ZREM', P .. 'leases', id)
    redis.call('HDEL', P .. 'lease_owner', id)
    redis.call('HINCRBY', P .. 'meta:' .. job.o, 'active', -1)
    redis.call('ZADD', P .. 'done:' .. job.o, completed_ms, cid(id))
    redis.call('ZADD', P .. 'expiry', 'LT', completed_ms, job.o)
  end
  record_change(id, job)
  return {'ok', job.v}

elseif op == 'claim' then
  local job_type, worker, until_ms = ARGV[5], ARGV[6], now_ms() + tonumber(ARGV[7])
  local popped = redis.call('ZPOPMIN', P .. 'queue:' .. job_type)
  if not popped[1] then return false end
  local id = popped[1]
  redis.call('ZADD', P .. 'leases', until_ms, id)
  redis.call('HSET', P .. 'lease_owner', id, worker)
  bump_positions(job_type, 0)
  return id

elseif op == 'requeue' then
  local id, expected, record = ARGV[5], ARGV[6], ARGV[7]
  local job = load(id)
  if not job then return {'gone'} end
  if job.v ~= expected then return {'conflict'} end
  if is_terminal(job.s) then return {'terminal'} end
  job.v, job.s, job.r = tonumber(job.v) + 1, 'pending', record
  save(id, job)
  redis.call('ZREM', P .. 'leases', id)
  redis.call('HDEL', P .. 'lease_owner', id)
  enqueue_front(id, job.t)
  record_change(id, job)
  bump_positions(job.t, 1)
  redis.call('PUBLISH', P .. 'queued', job.t)
  return {'ok'}

elseif op == 'renew' then
  local worker, until_ms = ARGV[5], now_ms() + tonumber(ARGV[6])
  for i = 7, #ARGV do
    if redis.call('HGET', P .. 'lease_owner', ARGV[i]) == worker then
      redis.call('ZADD', P .. 'leases', 'XX', until_ms, ARGV[i])
    end
  end
  return true

elseif op == 'expired' then
  local worker, now = ARGV[5], now_ms()
  local until_ms = now + tonumber(ARGV[6])
  local ids = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', '(' .. now, 'LIMIT', 0, 100)
  for _, id in ipairs(ids) do
    redis.call('ZADD', P .. 'leases', until_ms, id)
    redis.call('HSET', P .. 'lease_owner', id, worker)
  end
  return ids

elseif op == 'expire' then
  -- The owners with a job finished at or before the cutoff (`P expiry`), oldest first, then their
  -- jobs due (`done:{owner}`); each removal refreshes the owner's score.
  local cutoff_ms, limit, tomb_ttl = ARGV[5], tonumber(ARGV[6]), ARGV[7]
  if redis.call('EXISTS', P .. 'done') == 1 then  -- data of the previous release: index its owners once
    for _, o in ipairs(redis.call('ZRANGE', P .. 'owners', 0, -1)) do refresh_expiry(o) end
    redis.call('DEL', P .. 'done')
  end
  local removed = 0
  while removed < limit do
    local owner = redis.call('ZRANGEBYSCORE', P .. 'expiry', '-inf', cutoff_ms, 'LIMIT', 0, 1)[1]
    if not owner then break end
    local ids = redis.call('ZRANGEBYSCORE', P .. 'done:' .. owner, '-inf', cutoff_ms, 'LIMIT', 0, limit - removed)
    if #ids == 0 then refresh_expiry(owner) end  -- (a score never runs ahead of its set; kept safe anyway)
    for _, member in ipairs(ids) do
      if not remove(tid(member), tomb_ttl) then  -- an entry without its job: dropped, never looped on
        redis.call('ZREM', P .. 'done:' .. owner, member)
        refresh_expiry(owner)
      end
    end
    removed = removed + #ids
  end
  return removed

elseif op == 'kv_put' then
  -- A generic value with expiry; with only_if_absent ('1') a live value is kept and returned.
  local key, value, ttl_ms, nx = P .. 'kv:' .. ARGV[5], ARGV[6], ARGV[7], ARGV[8]
  if nx == '1' then
    local current = redis.call('GET', key)
    if current then return current end
  end
  redis.call('SET', key, value, 'PX', ttl_ms)
  return false

elseif op == 'kv_del' then
  local key, only_if = P .. 'kv:' .. ARGV[5], ARGV[6]
  if only_if == '' or redis.call('GET', key) == only_if then redis.call('DEL', key) end
  return true

elseif op == 'get' then
  local rows = {}
  for i = 5, #ARGV do rows[#rows + 1] = job_row(ARGV[i]) end
  return rows

elseif op == 'page' then
  -- One batch of a listing, newest first: ids with creation number below `before`, and their jobs.
  local key, before, count = ARGV[5], ARGV[6], tonumber(ARGV[7])
  -- Each row is job_row's with the job's index score (its number) appended.
  local ids = redis.call('ZREVRANGEBYSCORE', key, before, '-inf', 'WITHSCORES', 'LIMIT', 0, count)
  local rows = {}
  for i = 1, #ids, 2 do
    local row = job_row(tid(ids[i]))
    row[4] = ids[i + 1]
    rows[#rows + 1] = row
  end
  return rows

elseif op == 'changes' then
  -- A feed read: {current seq, removed-at, generation, floor (changes at or below it may be gone),
  -- epoch, the seq the answer reaches, then the changed jobs, each once, oldest change first, read
  -- in this same step: the versions returned and the cursor agree, so the next read repeats nothing}.
  local owner, after, count = ARGV[5], ARGV[6], tonumber(ARGV[7])
  local seq, removed, gen, floor, feed
  if owner == '' then
    seq = redis.call('GET', P .. 'seq') or '0'
    removed = redis.call('GET', P .. 'removed') or '0'
    floor = redis.call('GET', P .. 'floor') or '0'
    gen, feed = '', P .. 'feed'
  else
    local m = redis.call('HMGET', P .. 'meta:' .. owner, 'seq', 'removed', 'gen', 'floor')
    seq, removed, gen, floor, feed = m[1] or '0', m[2] or '0', m[3] or '0', m[4] or '0', P .. 'feed:' .. owner
  end
  local entries = redis.call('ZRANGEBYSCORE', feed, '(' .. after, '+inf', 'WITHSCORES', 'LIMIT', 0, count)
  local reached = seq
  if #entries >= 2 * count then reached = entries[#entries] end
  local result = {seq, removed, gen, floor, redis.call('GET', P .. 'epoch') or '', reached}
  for i = 1, #entries, 2 do result[#result + 1] = job_row(tid(entries[i])) end
  return result
end
return redis.error_reply('unknown job store step ' .. tostring(op))
