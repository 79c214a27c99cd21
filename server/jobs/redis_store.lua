-- The job store's atomic steps (server/jobs/redis_store.py; layout in docs/redis.md).
-- ARGV[1] names the step, ARGV[2] is the key prefix, ARGV[3] and ARGV[4] the change feeds' caps (jobs in
-- the all-jobs feed and in one owner's feed: redis_store.FEED_MAX / OWNER_FEED_MAX); the other ARGV
-- are the step's own.
-- Every multi-key change happens in one script: guard + version bump + change-feed ZADD + PUBLISH.
local op, P = ARGV[1], ARGV[2]
local FEED_MAX, OWNER_FEED_MAX = tonumber(ARGV[3]), tonumber(ARGV[4])
local NOTIFIED = 10          -- server.jobs.store.NOTIFIED_POSITIONS

local function is_terminal(status) return status == 'completed' or status == 'failed' end

-- A change feed is a sorted set of job ids scored by the sequence number of their latest change: a
-- job is in it once, however often it changed (a reader gets the job's current state anyway). Past
-- `max` jobs the oldest change leaves and the feed's floor (HSET/SET `floor_key`) rises to it, so a
-- cursor below the floor answers 410.
local function feed_add(key, seq, id, max, floor_key, floor_field)
  redis.call('ZADD', key, seq, id)
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
local function record_change(id, owner)
  local seq = redis.call('INCR', P .. 'seq')
  feed_add(P .. 'feed', seq, id, FEED_MAX, P .. 'floor', nil)
  local oseq = redis.call('HINCRBY', P .. 'meta:' .. owner, 'seq', 1)
  feed_add(P .. 'feed:' .. owner, oseq, id, OWNER_FEED_MAX, P .. 'meta:' .. owner, 'floor')
  local h = redis.call('HMGET', P .. 'job:' .. id, 'v', 's', 't', 'j', 'n')
  local rank = ''
  if h[2] == 'pending' then
    local r = redis.call('ZRANK', P .. 'queue:' .. h[3], id)
    if r then rank = r + 1 end
  end
  redis.call('PUBLISH', P .. 'changes', seq .. '\n' .. h[1] .. '\n' .. h[5] .. '\n' .. rank .. '\n' .. h[4])
end

-- Queued jobs now among the first NOTIFIED get a new version so their waiters see the new position.
local function bump_positions(job_type, start)
  if start >= NOTIFIED then return end
  local ids = redis.call('ZRANGE', P .. 'queue:' .. job_type, start, NOTIFIED - 1)
  for _, id in ipairs(ids) do
    redis.call('HINCRBY', P .. 'job:' .. id, 'v', 1)
    record_change(id, redis.call('HGET', P .. 'job:' .. id, 'o'))
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
local function release_dedupe(id)
  local d = redis.call('HGET', P .. 'job:' .. id, 'd')
  if d and redis.call('GET', P .. 'dedupe:' .. d) == id then redis.call('DEL', P .. 'dedupe:' .. d) end
end

local function remove(id, tomb_ttl)
  local k = P .. 'job:' .. id
  local o = redis.call('HGET', k, 'o')
  if not o then return end
  release_dedupe(id)
  redis.call('DEL', k)
  redis.call('ZREM', P .. 'all', id)
  redis.call('ZREM', P .. 'owner:' .. o, id)
  redis.call('ZREM', P .. 'done', id)
  redis.call('ZREM', P .. 'done:' .. o, id)
  redis.call('ZREM', P .. 'feed', id)
  redis.call('ZREM', P .. 'feed:' .. o, id)
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
    if own then return own end
  end
  for _, o in ipairs(redis.call('ZREVRANGEBYSCORE', P .. 'owners', '+inf', '(' .. share)) do
    local oldest = redis.call('ZRANGE', P .. 'done:' .. o, 0, 0)[1]
    if oldest then return oldest end
  end
  return nil
end

local function job_row(id)
  local h = redis.call('HMGET', P .. 'job:' .. id, 'j', 'v', 'n', 's', 't')
  if not h[1] then return {id, false, 0, 0, ''} end
  local rank = ''
  if h[4] == 'pending' then
    local r = redis.call('ZRANK', P .. 'queue:' .. h[5], id)
    if r then rank = r + 1 end
  end
  return {id, h[1], h[2], h[3], rank}
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
  local id, owner, job_type, json = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
  local max_active, max_jobs, tomb_ttl, gen = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11], ARGV[12]
  local dedupe = ARGV[13]
  local m = P .. 'meta:' .. owner
  if dedupe ~= '' then  -- an active job holding the key is the answer; a stale key is taken over
    local holder = redis.call('GET', P .. 'dedupe:' .. dedupe)
    if holder then
      local s = redis.call('HGET', P .. 'job:' .. holder, 's')
      if s and not is_terminal(s) then return {'exists', holder} end
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
  redis.call('HSET', P .. 'job:' .. id, 'j', json, 'v', 1, 'n', number, 's', 'pending', 't', job_type, 'o', owner)
  redis.call('ZADD', P .. 'all', number, id)
  redis.call('ZADD', P .. 'owner:' .. owner, number, id)
  redis.call('ZINCRBY', P .. 'owners', 1, owner)
  redis.call('HSETNX', m, 'gen', gen)
  redis.call('HINCRBY', m, 'active', 1)
  redis.call('ZADD', P .. 'queue:' .. job_type, redis.call('INCR', P .. 'ticket:' .. job_type), id)
  if dedupe ~= '' then
    redis.call('SET', P .. 'dedupe:' .. dedupe, id)
    redis.call('HSET', P .. 'job:' .. id, 'd', dedupe)
  end
  record_change(id, owner)
  redis.call('PUBLISH', P .. 'queued', job_type)
  return {'ok', number, victim}

elseif op == 'write' then
  -- Compare-and-set on the version: the caller checked the transition on the version it read.
  local id, expected, json, status, completed_ms = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
  local k = P .. 'job:' .. id
  local h = redis.call('HMGET', k, 'v', 's', 't', 'o')
  if not h[1] then return {'gone'} end
  if h[1] ~= expected then return {'conflict'} end
  local version = tonumber(h[1]) + 1
  redis.call('HSET', k, 'j', json, 'v', version, 's', status)
  if h[2] == 'pending' and status ~= 'pending' then dequeue(id, h[3]) end
  if is_terminal(status) and not is_terminal(h[2]) then
    release_dedupe(id)
    redis.call('ZREM', P .. 'leases', id)
    redis.call('HDEL', P .. 'lease_owner', id)
    redis.call('HINCRBY', P .. 'meta:' .. h[4], 'active', -1)
    redis.call('ZADD', P .. 'done', completed_ms, id)
    redis.call('ZADD', P .. 'done:' .. h[4], completed_ms, id)
  end
  record_change(id, h[4])
  return {'ok', version}

elseif op == 'claim' then
  local job_type, worker, until_ms = ARGV[5], ARGV[6], ARGV[7]
  local popped = redis.call('ZPOPMIN', P .. 'queue:' .. job_type)
  if not popped[1] then return false end
  local id = popped[1]
  redis.call('ZADD', P .. 'leases', until_ms, id)
  redis.call('HSET', P .. 'lease_owner', id, worker)
  bump_positions(job_type, 0)
  return id

elseif op == 'requeue' then
  local id, expected, json = ARGV[5], ARGV[6], ARGV[7]
  local k = P .. 'job:' .. id
  local h = redis.call('HMGET', k, 'v', 's', 't', 'o')
  if not h[1] then return {'gone'} end
  if h[1] ~= expected then return {'conflict'} end
  if is_terminal(h[2]) then return {'terminal'} end
  redis.call('HSET', k, 'j', json, 'v', tonumber(h[1]) + 1, 's', 'pending')
  redis.call('ZREM', P .. 'leases', id)
  redis.call('HDEL', P .. 'lease_owner', id)
  enqueue_front(id, h[3])
  record_change(id, h[4])
  bump_positions(h[3], 1)
  redis.call('PUBLISH', P .. 'queued', h[3])
  return {'ok'}

elseif op == 'renew' then
  local worker, until_ms = ARGV[5], ARGV[6]
  for i = 7, #ARGV do
    if redis.call('HGET', P .. 'lease_owner', ARGV[i]) == worker then
      redis.call('ZADD', P .. 'leases', 'XX', until_ms, ARGV[i])
    end
  end
  return true

elseif op == 'expired' then
  local worker, now_ms, until_ms = ARGV[5], ARGV[6], ARGV[7]
  local ids = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', '(' .. now_ms, 'LIMIT', 0, 100)
  for _, id in ipairs(ids) do
    redis.call('ZADD', P .. 'leases', until_ms, id)
    redis.call('HSET', P .. 'lease_owner', id, worker)
  end
  return ids

elseif op == 'expire' then
  local cutoff_ms, limit, tomb_ttl = ARGV[5], tonumber(ARGV[6]), ARGV[7]
  local ids = redis.call('ZRANGEBYSCORE', P .. 'done', '-inf', cutoff_ms, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do remove(id, tomb_ttl) end
  return #ids

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
  local ids = redis.call('ZREVRANGEBYSCORE', key, before, '-inf', 'LIMIT', 0, count)
  local rows = {}
  for _, id in ipairs(ids) do rows[#rows + 1] = job_row(id) end
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
  for i = 1, #entries, 2 do result[#result + 1] = job_row(entries[i]) end
  return result
end
return redis.error_reply('unknown job store step ' .. tostring(op))
