import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { idOrderKey } from '../../core/activities/activity-id.js';
import { ConflictError, StaleWriteError } from '../../core/errors.js';
import type { ActivityRecord, ActivityStore } from '../../ports/activity-store.js';
import type { AuditChange } from '../../ports/audit-log.js';
import { changeKey, stepChanges } from '../../ports/change-marks.js';
import type { CommittedStep, FollowWrite, Intent, IntentQueue, QueuedIntent, WriteStep } from '../../ports/intent-queue.js';
import type { RedisConnection } from './connection.js';
import { byPartition, partitionBase, PARTITIONS, partitionOf } from './partitions.js';
import type { RedisAuditLog } from './redis-records.js';
import { edgeJson, type RedisFollowStore } from './redis-follow-store.js';
import { reactionKeys } from './redis-reaction-store.js';
import { LuaScript } from './scripts.js';
import { actorOf } from './redis-user-data.js';

export { PARTITIONS, partitionOf } from './partitions.js';

/**
 * Activities, the written parts of every step (reactions, follow edges) and the intent queue on
 * Redis, in {@link PARTITIONS} partitions shared by every app (`rv:{rv:|p<n>}:…`). A step lives in
 * the partition of its owner (the activity id; the activity of its reactions; the source feed of
 * its follow edge): the written thing, its intents and its follow-up operations are one Lua script
 * on one slot, acknowledged (in `durable` mode) after `WAIT 1`.
 *
 * Per partition: `a:<app>` (id → record, see {@link encodeActivity}, and `<id>/h` → its home feed, set once), the reactions
 * (see `redis-reaction-store.ts`), follow edges `e:<app>` (see `redis-follow-store.ts`), and the
 * fan-out intents (below).
 *
 * Follow-up operations (`px`/`pz`): what a step changes outside its slot (the two feeds' follow
 * indexes, the foreign-id index, the per-actor index of activities, a user's reaction index, the
 * audit log; also the walk that adds
 * a feed turned pull-served to its followers' pulled sources) is recorded in the step
 * as an operation, applied right after it, and removed once applied. Each is idempotent (it makes
 * an index agree with the partition's truth); a claim by any worker applies those older than its
 * lease again (by the writer's clock against the claim's `now`), so a writer that died after the
 * step leaves nothing missing.
 *
 * Fan-out intents are jobs of a Redis Stream per partition, `s`, read by one consumer group `w`
 * that every worker process joins (a consumer each, named by host, process and a random part):
 * - an intent's data is `i` (id → JSON), `at`/`cur` (attempts, cursor); `se` maps it to its
 *   current stream entry (field `i`: the intent's number);
 * - a queued intent is `XADD`ed by the script that commits its step, so the step and its job are
 *   one atomic write; an inline intent is not in the stream but in `il` (by the server's time of
 *   its commit) until its writer completes it (gone), releases it (`XADD`ed then) or dies (a claim
 *   `XADD`s the inline intents older than its lease, by the server's clock);
 * - a claim reads each partition in one script: `XAUTOCLAIM` with min-idle = the lease (jobs whose
 *   worker recorded no progress for that long: it died), then `XREADGROUP >` (new jobs); the
 *   entry stays in the group's pending list (`XPENDING`) under the worker's consumer until it is
 *   acknowledged;
 * - progress renews the lease (`XCLAIM … JUSTID` by the same consumer resets the idle time);
 *   handing back sets the idle time past any lease (`XCLAIM … TIME 0`);
 * - complete: `XACK` and `XDEL` of the entry, the intent's data deleted;
 * - a failed attempt acknowledges the entry; the intent waits in `r` (by its retry time, the
 *   caller's clock) until a claim whose `now` reached it `XADD`s it again, or goes to the dead
 *   letters `dl`/`dle`/`dlt`/`dlz`; a requeued dead letter is `XADD`ed again.
 * Leases are the server's idle times, not the caller's clock: that is why the port measures leases
 * by the store's clock and takes `now` for retry times only.
 */

// The stream side of an intent, shared by the scripts below: `enqueue` adds a job for intent
// `iid` and records its entry in `se`; `dequeue` acknowledges and deletes its entry, if it has one.
const JOB_FNS = `
local function enqueue(b, iid)
  redis.call('HSET', b .. 'se', iid, redis.call('XADD', b .. 's', '*', 'i', iid))
end
local function dequeue(b, iid)
  local eid = redis.call('HGET', b .. 'se', iid)
  if eid then
    redis.call('XACK', b .. 's', 'w', eid)
    redis.call('XDEL', b .. 's', eid)
    redis.call('HDEL', b .. 'se', iid)
  end
end
`;

const COMMIT_LUA =
  JOB_FNS +
  `
local b = KEYS[1]
local app, now = ARGV[1], ARGV[2]
local R = 'r:' .. app
-- Pass 1: a reaction add of an existing id fails the whole step before anything is written, and
-- so does a checked step (RK, see ReactionWrites.checked) whose reads went stale.
local checked, added, removed, updated, parents = false, {}, {}, {}, {}
local i = 3
while i <= #ARGV do
  local tag = ARGV[i]
  if tag == 'RA' then
    if redis.call('HEXISTS', b .. R, ARGV[i + 1]) == 1 then return redis.error_reply('CONFLICT reaction ' .. ARGV[i + 1] .. ' already exists') end
    -- A child's owner is r:<parent>; its parent must be stored or added before it here.
    if string.sub(ARGV[i + 2], 1, 2) == 'r:' then
      local p = string.sub(ARGV[i + 2], 3)
      if not added[p] then parents[#parents + 1] = p end
    end
    added[ARGV[i + 1]] = true
    i = i + 8
  elseif tag == 'RK' then
    checked = true
    i = i + 1
  elseif tag == 'RV' then
    -- A reaction removed as it was read: an update since may have moved its activity elsewhere.
    local now = redis.call('HGET', b .. 'rp:' .. app, ARGV[i + 1])
    if now and now ~= ARGV[i + 2] then return redis.error_reply('STALE reaction ' .. ARGV[i + 1] .. ' was updated while it was removed') end
    i = i + 3
  elseif tag == 'RX' then
    removed[#removed + 1] = ARGV[i + 1]
    i = i + 2
  elseif tag == 'RU' then
    updated[#updated + 1] = ARGV[i + 1]
    i = i + 3
  elseif tag == 'G' then
    -- A step carried by another step's follow-up operation lands once, however often it is applied.
    if redis.call('ZSCORE', b .. 'gd', ARGV[i + 1]) then return {{}, {}, 1} end
    i = i + 2
  elseif tag == 'X' then
    -- A read-modify-write names the body it started from: refused when another writer changed it.
    local rec = redis.call('HGET', b .. 'a:' .. app, ARGV[i + 1])
    local body = nil
    if rec then
      if string.sub(rec, 1, 1) == '{' then
        body = cjson.decode(rec).body
      else
        local p1 = string.find(rec, '\\n', 1, true)
        local p2 = p1 and string.find(rec, '\\n', p1 + 1, true)
        local p3 = p2 and string.find(rec, '\\n', p2 + 1, true)
        if p3 then body = string.sub(rec, p3 + 1) end
      end
    end
    if body ~= ARGV[i + 2] then return redis.error_reply('CONFLICT activity ' .. ARGV[i + 1] .. ' was changed by another request while this one updated it') end
    i = i + 3
  elseif tag == 'A' then i = i + 4
  elseif tag == 'E' or tag == 'RR' or tag == 'P' then i = i + 2
  elseif tag == 'RS' or tag == 'U' or tag == 'I' then i = i + 3
  elseif tag == 'F' then i = i + 4
  else return redis.error_reply('unknown step part ' .. tostring(tag)) end
end
if checked then
  for _, p in ipairs(parents) do
    if redis.call('HEXISTS', b .. R, p) == 0 then return redis.error_reply('STALE parent reaction ' .. p .. ' was removed while a child was added to it') end
  end
  for _, id in ipairs(updated) do
    if redis.call('HEXISTS', b .. R, id) == 0 then return redis.error_reply('STALE reaction ' .. id .. ' was removed while it was updated') end
  end
  local gone = {}
  for _, id in ipairs(removed) do gone[id] = true end
  for _, id in ipairs(removed) do
    for _, m in ipairs(redis.call('ZRANGE', b .. 'ri:' .. app .. ':r:' .. id, 0, -1)) do
      if not gone[string.sub(m, 17)] then
        return redis.error_reply('STALE reaction ' .. string.sub(m, 17) .. ' was added under reaction ' .. id .. ' while it was removed')
      end
    end
  end
end
local function dec(key, field)
  if redis.call('HINCRBY', key, field, -1) < 0 then redis.call('HSET', key, field, 0) end
end
local function meta(id)
  local m = redis.call('HGET', b .. 'ro:' .. app, id)
  if not m then return nil end
  local a = string.find(m, '\\n', 1, true)
  local c = string.find(m, '\\n', a + 1, true)
  return string.sub(m, 1, a - 1), string.sub(m, a + 1, c - 1), string.sub(m, c + 1)
end
local intents, ops = {}, {}
local serverMs = nil
i = 3
while i <= #ARGV do
  local tag = ARGV[i]
  if tag == 'G' then
    redis.call('ZADD', b .. 'gd', now, ARGV[i + 1])
    redis.call('ZREMRANGEBYSCORE', b .. 'gd', '-inf', tonumber(now) - 7 * 86400000)
    i = i + 2
  elseif tag == 'A' then
    redis.call('HSET', b .. 'a:' .. app, ARGV[i + 1], ARGV[i + 2])
    redis.call('HSETNX', b .. 'a:' .. app, ARGV[i + 1] .. '/h', ARGV[i + 3])
    -- An activity written again (a re-post of its id, an update) while the sweep counts it as
    -- held by no feed is marked so (-2): a sweep step that checked its fan-out jobs before this
    -- write does not delete it (see redis-activity-holds.ts).
    redis.call('ZADD', b .. 'hz:' .. app, 'XX', -2, ARGV[i + 1])
    i = i + 4
  elseif tag == 'E' then
    redis.call('HDEL', b .. 'a:' .. app, ARGV[i + 1], ARGV[i + 1] .. '/h')
    redis.call('HDEL', b .. 'ho:' .. app, ARGV[i + 1])
    redis.call('ZREM', b .. 'hz:' .. app, ARGV[i + 1])
    i = i + 2
  elseif tag == 'X' then
    i = i + 3
  elseif tag == 'RA' then
    local id, owner, member, kind, core, payload, deleted = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
    redis.call('HSET', b .. R, id, core)
    redis.call('HSET', b .. 'rp:' .. app, id, payload)
    redis.call('HSET', b .. 'ro:' .. app, id, owner .. '\\n' .. kind .. '\\n' .. member)
    redis.call('ZADD', b .. 'ri:' .. app .. ':' .. owner, 0, member)
    if deleted ~= '' then redis.call('HSET', b .. 'rd:' .. app, id, deleted)
    else redis.call('HINCRBY', b .. 'rn:' .. app .. ':' .. owner, kind, 1) end
    i = i + 8
  elseif tag == 'RU' then
    if redis.call('HEXISTS', b .. R, ARGV[i + 1]) == 1 then redis.call('HSET', b .. 'rp:' .. app, ARGV[i + 1], ARGV[i + 2]) end
    i = i + 3
  elseif tag == 'RS' then
    local owner, kind = meta(ARGV[i + 1])
    if owner then
      local was = redis.call('HGET', b .. 'rd:' .. app, ARGV[i + 1])
      redis.call('HSET', b .. 'rd:' .. app, ARGV[i + 1], ARGV[i + 2])
      if not was then dec(b .. 'rn:' .. app .. ':' .. owner, kind) end
    end
    i = i + 3
  elseif tag == 'RR' then
    local owner, kind = meta(ARGV[i + 1])
    if owner and redis.call('HDEL', b .. 'rd:' .. app, ARGV[i + 1]) == 1 then redis.call('HINCRBY', b .. 'rn:' .. app .. ':' .. owner, kind, 1) end
    i = i + 2
  elseif tag == 'RX' then
    local id = ARGV[i + 1]
    local owner, kind, member = meta(id)
    if owner then
      local deleted = redis.call('HDEL', b .. 'rd:' .. app, id)
      redis.call('HDEL', b .. R, id)
      redis.call('HDEL', b .. 'rp:' .. app, id)
      redis.call('HDEL', b .. 'ro:' .. app, id)
      redis.call('ZREM', b .. 'ri:' .. app .. ':' .. owner, member)
      if deleted == 0 then dec(b .. 'rn:' .. app .. ':' .. owner, kind) end
    end
    -- A removed reaction's children counts go with it, so a reused id starts from {}.
    redis.call('DEL', b .. 'rn:' .. app .. ':r:' .. id)
    i = i + 2
  elseif tag == 'RK' then
    i = i + 1
  elseif tag == 'RV' then
    i = i + 3
  elseif tag == 'F' then
    redis.call('HSETNX', b .. 'e:' .. app, ARGV[i + 1] .. '\\n' .. ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif tag == 'U' then
    redis.call('HDEL', b .. 'e:' .. app, ARGV[i + 1] .. '\\n' .. ARGV[i + 2])
    i = i + 3
  elseif tag == 'P' then
    local oid = tostring(redis.call('INCR', b .. 'pseq'))
    redis.call('HSET', b .. 'px', oid, ARGV[i + 1])
    redis.call('ZADD', b .. 'pz', now, oid)
    ops[#ops + 1] = oid
    i = i + 2
  elseif tag == 'I' then
    local iid = tostring(redis.call('INCR', b .. 'seq'))
    redis.call('HSET', b .. 'i', iid, ARGV[i + 2])
    if ARGV[i + 1] == 'queued' then
      enqueue(b, iid)
    else
      if not serverMs then
        local t = redis.call('TIME')
        serverMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      end
      redis.call('ZADD', b .. 'il', serverMs, iid)
    end
    intents[#intents + 1] = iid
    i = i + 3
  end
end
return {intents, ops, 0}
`;

// A claim in one partition (see the class comment). ARGV: consumer, lease (ms), the caller's now
// (ms), count. Due retries and inline intents past their lease join the stream first; then the
// jobs of workers idle for a lease (XAUTOCLAIM, resuming its scan of the pending list where the
// last claim left it), then new jobs (XREADGROUP). Returns {number, JSON, attempts, cursor}s.
const CLAIM_LUA =
  JOB_FNS +
  `
local b = KEYS[1]
local consumer, lease, now, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local s = b .. 's'
-- The group starts at the stream's first entry: jobs added before any worker came are read too.
redis.pcall('XGROUP', 'CREATE', s, 'w', '0', 'MKSTREAM')
local function push(iid)
  if redis.call('HEXISTS', b .. 'i', iid) == 1 then enqueue(b, iid) end
end
for _, iid in ipairs(redis.call('ZRANGEBYSCORE', b .. 'r', '-inf', now, 'LIMIT', 0, count)) do
  redis.call('ZREM', b .. 'r', iid)
  push(iid)
end
local t = redis.call('TIME')
local serverMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, iid in ipairs(redis.call('ZRANGEBYSCORE', b .. 'il', '-inf', serverMs - lease, 'LIMIT', 0, count)) do
  redis.call('ZREM', b .. 'il', iid)
  push(iid)
end
-- Intents queued by versions that kept them in a sorted set join the stream.
for _, iid in ipairs(redis.call('ZRANGE', b .. 'q', 0, count - 1)) do
  redis.call('ZREM', b .. 'q', iid)
  push(iid)
end
local out = {}
local function take(eid, fields)
  local iid = fields and fields[2]
  local json = iid and redis.call('HGET', b .. 'i', iid)
  if not json or redis.call('HGET', b .. 'se', iid) ~= eid then
    -- A leftover entry (its intent finished or moved on): nothing to apply.
    redis.call('XACK', s, 'w', eid)
    redis.call('XDEL', s, eid)
    return
  end
  out[#out + 1] = {iid, json, redis.call('HGET', b .. 'at', iid) or '0', redis.call('HGET', b .. 'cur', iid) or ''}
end
local from = redis.call('GET', b .. 'ac') or '0-0'
local idle = redis.call('XAUTOCLAIM', s, 'w', consumer, lease, from, 'COUNT', count)
redis.call('SET', b .. 'ac', idle[1])
for _, e in ipairs(idle[2]) do take(e[1], e[2]) end
if #out < count then
  local fresh = redis.call('XREADGROUP', 'GROUP', 'w', consumer, 'COUNT', count - #out, 'STREAMS', s, '>')
  if fresh then for _, e in ipairs(fresh[1][2]) do take(e[1], e[2]) end end
end
return out
`;

// Consumers of workers gone for ARGV[1] ms that hold no job (every worker process joins under a
// name of its own, so restarts would pile them up in the group); returns how many went.
const PRUNE_LUA = `
local s = KEYS[1] .. 's'
if redis.call('EXISTS', s) == 0 then return 0 end
local ok, list = pcall(redis.call, 'XINFO', 'CONSUMERS', s, 'w')
if not ok then return 0 end
local n = 0
for _, c in ipairs(list) do
  local f = {}
  for k = 1, #c, 2 do f[c[k]] = c[k + 1] end
  if f['pending'] == 0 and f['idle'] >= tonumber(ARGV[1]) then
    redis.call('XGROUP', 'DELCONSUMER', s, 'w', f['name'])
    n = n + 1
  end
end
return n
`;

// ARGV: consumer, '1' to hand the intents back (else their lease is renewed), then number and
// cursor pairs. XCLAIM of an entry nobody holds (finished, waiting for a retry) does nothing.
const PROGRESS_LUA = `
local b = KEYS[1]
local consumer, back = ARGV[1], ARGV[2] == '1'
for i = 3, #ARGV, 2 do
  local iid = ARGV[i]
  if redis.call('HEXISTS', b .. 'i', iid) == 1 then
    redis.call('HSET', b .. 'cur', iid, ARGV[i + 1])
    local eid = redis.call('HGET', b .. 'se', iid)
    if eid then
      if back then redis.call('XCLAIM', b .. 's', 'w', consumer, 0, eid, 'TIME', 0, 'JUSTID')
      else redis.call('XCLAIM', b .. 's', 'w', consumer, 0, eid, 'JUSTID') end
    end
  end
end
return 0
`;

const COMPLETE_LUA =
  JOB_FNS +
  `
local b = KEYS[1]
for i = 1, #ARGV do
  local iid = ARGV[i]
  dequeue(b, iid)
  redis.call('HDEL', b .. 'i', iid)
  redis.call('HDEL', b .. 'at', iid)
  redis.call('HDEL', b .. 'cur', iid)
  redis.call('ZREM', b .. 'il', iid)
  redis.call('ZREM', b .. 'r', iid)
end
return 0
`;

// Inline intents not claimed yet become queued jobs of the stream; others are left alone.
const RELEASE_LUA =
  JOB_FNS +
  `
local b = KEYS[1]
for i = 1, #ARGV do
  local iid = ARGV[i]
  local json = redis.call('HGET', b .. 'i', iid)
  if json and redis.call('ZSCORE', b .. 'il', iid) then
    -- "mode" is the first field of the stored JSON.
    json = string.gsub(json, '"mode":"inline"', '"mode":"queued"', 1)
    redis.call('HSET', b .. 'i', iid, json)
    redis.call('ZREM', b .. 'il', iid)
    enqueue(b, iid)
  end
end
return 0
`;

const FAILED_LUA =
  JOB_FNS +
  `
local b = KEYS[1]
local iid, err, retry, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local json = redis.call('HGET', b .. 'i', iid)
if not json then return 0 end
redis.call('HINCRBY', b .. 'at', iid, 1)
dequeue(b, iid)
redis.call('ZREM', b .. 'il', iid)
if retry ~= '' then
  redis.call('ZADD', b .. 'r', retry, iid)
  return 1
end
redis.call('HSET', b .. 'dl', iid, json)
redis.call('HSET', b .. 'dle', iid, err)
redis.call('HSET', b .. 'dlt', iid, now)
redis.call('ZADD', b .. 'dlz', tonumber(iid), iid)
redis.call('HDEL', b .. 'i', iid)
redis.call('ZREM', b .. 'r', iid)
return 2
`;

const DEAD_LUA = `
local b = KEYS[1]
local out = {}
for _, iid in ipairs(redis.call('ZRANGE', b .. 'dlz', 0, tonumber(ARGV[1]) - 1)) do
  out[#out + 1] = {iid, redis.call('HGET', b .. 'dl', iid) or '', redis.call('HGET', b .. 'dle', iid) or '', redis.call('HGET', b .. 'dlt', iid) or '0',
    redis.call('HGET', b .. 'at', iid) or '0', redis.call('HGET', b .. 'cur', iid) or ''}
end
return out
`;

const REQUEUE_LUA =
  JOB_FNS +
  `
local b = KEYS[1]
local ids = {}
if ARGV[1] == 'all' then ids = redis.call('ZRANGE', b .. 'dlz', 0, -1) else for k = 2, #ARGV do ids[#ids + 1] = ARGV[k] end end
local n = 0
for _, iid in ipairs(ids) do
  local json = redis.call('HGET', b .. 'dl', iid)
  if json then
    -- "mode" is the first field of the stored JSON.
    json = string.gsub(json, '"mode":"inline"', '"mode":"queued"', 1)
    redis.call('HSET', b .. 'i', iid, json)
    redis.call('HDEL', b .. 'at', iid)
    enqueue(b, iid)
    redis.call('HDEL', b .. 'dl', iid)
    redis.call('HDEL', b .. 'dle', iid)
    redis.call('HDEL', b .. 'dlt', iid)
    redis.call('ZREM', b .. 'dlz', iid)
    n = n + 1
  end
end
return n
`;

// The oldest waiting intents of one partition (queued, claimed, waiting for a retry or inline), at
// most ARGV[1]: intent numbers grow with time, so the smallest ones.
const PENDING_LUA = `
local b = KEYS[1]
local limit = tonumber(ARGV[1])
local all = {}
for _, iid in ipairs(redis.call('HKEYS', b .. 'i')) do all[#all + 1] = tonumber(iid) end
table.sort(all)
local out = {}
for k = 1, math.min(limit, #all) do
  local iid = tostring(all[k])
  out[#out + 1] = {iid, redis.call('HGET', b .. 'i', iid) or '', redis.call('HGET', b .. 'at', iid) or '0', redis.call('HGET', b .. 'cur', iid) or ''}
end
return out
`;

/** How often a process prunes the consumers of gone workers, and how long a consumer with no job must have been idle for that. */
const PRUNE_EVERY_MS = 10 * 60_000;
const CONSUMER_GONE_MS = 60 * 60_000;

/** A follow-up operation of a step (see the class comment). */
type FollowUp =
  | { readonly t: 'edge'; readonly app: string; readonly source: string; readonly target: string }
  | { readonly t: 'fid'; readonly app: string; readonly foreignId: string; readonly id: string }
  | { readonly t: 'actor'; readonly app: string; readonly actor: string; readonly id: string }
  | { readonly t: 'ruser'; readonly app: string; readonly user: string; readonly id: string; readonly member: string; readonly part: number }
  | { readonly t: 'audit'; readonly app: string; readonly atUs: number; readonly changes: readonly AuditChange[] }
  | { readonly t: 'pull'; readonly app: string; readonly feed: string }
  /** A follow lifts the follower's hides of the target's direct entries (from `since` on). */
  | { readonly t: 'unhide'; readonly app: string; readonly source: string; readonly target: string; readonly since: FollowWrite['since'] }
  /** The second step of a write that spans two partitions (a reaction's own activity with its intents). */
  | { readonly t: 'then'; readonly app: string; readonly step: WriteStep };

/** Intent ids are `<partition>-<n>`; null for anything else. */
function parseIntentId(id: string): { part: number; iid: string } | null {
  const m = /^(\d{1,3})-(\d{1,15})$/.exec(id);
  if (!m) return null;
  const part = Number(m[1]);
  return part < PARTITIONS ? { part, iid: m[2] } : null;
}

interface StoredIntent extends Intent {
  readonly app: string;
  readonly queuedAt: number;
}

function queued(part: number, iid: string, json: string, attempts: string, cursor: string): QueuedIntent {
  const s = JSON.parse(json) as StoredIntent;
  return { kind: s.kind, source: s.source, ids: s.ids, mode: s.mode, id: `${part}-${iid}`, app: s.app, cursor: cursor === '' ? null : cursor, queuedAt: s.queuedAt, attempts: Number(attempts) };
}

/**
 * An activity's record as its partition's hash keeps it (the id is the field, the home feed the
 * field `<id>/h`): its time, its foreign id and `to` list as JSON, and its body as it is, one per
 * line (the body last: it may hold line breaks). Records written before this encoding are a JSON
 * object of all five (which starts with `{`, as this encoding never does).
 */
export function encodeActivity(a: Omit<ActivityRecord, 'home'>): string {
  return `${a.timeUs}\n${JSON.stringify(a.foreignId)}\n${JSON.stringify(a.to)}\n${a.body}`;
}

/** Reads a record {@link encodeActivity} wrote (or a record of the earlier JSON form). */
export function decodeActivity(id: string, rec: string, home: string): ActivityRecord {
  if (rec.startsWith('{')) return { ...(JSON.parse(rec) as Omit<ActivityRecord, 'home'>), home };
  const a = rec.indexOf('\n');
  const b = rec.indexOf('\n', a + 1);
  const c = rec.indexOf('\n', b + 1);
  return { id, timeUs: Number(rec.slice(0, a)), foreignId: JSON.parse(rec.slice(a + 1, b)) as string, to: JSON.parse(rec.slice(b + 1, c)) as string[], body: rec.slice(c + 1), home };
}

/** The partition a step lives in. */
function ownerOf(s: WriteStep): string {
  if (s.activity) return s.activity.id;
  const r = s.reactions;
  const first = r?.add?.[0] ?? r?.update?.[0] ?? r?.remove?.[0] ?? r?.softDelete?.[0]?.reaction ?? r?.restore?.[0];
  if (first) return first.activityId;
  if (s.follow) return s.follow.source;
  if (s.unfollow) return s.unfollow.source;
  return s.intents?.[0]?.source ?? s.erase?.[0] ?? '';
}

export class RedisIntentQueue implements IntentQueue, ActivityStore {
  readonly #r: RedisConnection;
  readonly #audit: RedisAuditLog;
  readonly #follows: RedisFollowStore;
  readonly #commit: LuaScript;
  readonly #claim: LuaScript;
  readonly #prune: LuaScript;
  /** When this process last pruned the groups' consumers (ms). */
  #pruned = 0;
  /** This process's consumer in every partition's group (see the class comment). */
  readonly consumer = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #progress: LuaScript;
  readonly #complete: LuaScript;
  readonly #release: LuaScript;
  /** Releases of this process still on their way (a claim waits for them). */
  readonly #releasing = new Set<Promise<void>>();
  readonly #failed: LuaScript;
  readonly #dead: LuaScript;
  readonly #requeue: LuaScript;
  readonly #pending: LuaScript;

  constructor(r: RedisConnection, audit: RedisAuditLog, follows: RedisFollowStore) {
    this.#r = r;
    this.#audit = audit;
    this.#follows = follows;
    this.#commit = new LuaScript(r.cluster, 'step_commit', COMMIT_LUA);
    this.#claim = new LuaScript(r.cluster, 'intent_claim_stream', CLAIM_LUA);
    this.#prune = new LuaScript(r.cluster, 'intent_prune_consumers', PRUNE_LUA);
    this.#progress = new LuaScript(r.cluster, 'intent_progress_stream', PROGRESS_LUA);
    this.#complete = new LuaScript(r.cluster, 'intent_complete_stream', COMPLETE_LUA);
    this.#release = new LuaScript(r.cluster, 'intent_release_stream', RELEASE_LUA);
    this.#failed = new LuaScript(r.cluster, 'intent_failed_stream', FAILED_LUA);
    this.#dead = new LuaScript(r.cluster, 'intent_dead', DEAD_LUA);
    this.#requeue = new LuaScript(r.cluster, 'intent_requeue_stream', REQUEUE_LUA);
    this.#pending = new LuaScript(r.cluster, 'intent_pending_stream', PENDING_LUA);
  }

  #part(n: number): string {
    return partitionBase(this.#r.keys, n);
  }

  async commit(app: string, steps: readonly WriteStep[]): Promise<CommittedStep[]> {
    return Promise.all(steps.map((s) => this.#step(app, s)));
  }

  /**
   * Commits one step in its partition. `guard`: the step is carried by another step's follow-up
   * operation, named so; it lands once however often it is applied (a second time resolves with
   * no intents). `then`: a second step this one carries as a follow-up operation.
   */
  async #step(app: string, s: WriteStep, guard?: string, then?: WriteStep): Promise<CommittedStep> {
    const ops: FollowUp[] = [];
    // A reaction with target feeds comes with an activity of its own, which lives in the partition
    // of its id, not in that of the reacted activity: the reaction (with its audit entry) is
    // written first, in its own step (a conflict stops everything there), carrying the activity
    // with its intents as a follow-up operation, which is applied next (the second step). A writer
    // dying in between leaves the operation to the next claim, which commits the second step.
    if (s.activity && s.reactions) {
      const r = s.reactions;
      const all = [...(r.add ?? []), ...(r.update ?? []), ...(r.remove ?? []), ...(r.softDelete ?? []).map((x) => x.reaction), ...(r.restore ?? [])];
      const home = partitionOf(s.activity.id);
      if (all.some((x) => partitionOf(x.activityId) !== home)) {
        const { reactions, audit, ...rest } = s;
        return this.#step(app, { reactions, ...(audit ? { audit } : {}) }, guard, rest);
      }
    }
    if (then) ops.push({ t: 'then', app, step: then });
    const now = Date.now();
    const n = partitionOf(ownerOf(s));
    const args: (string | number)[] = [app, now];
    if (guard !== undefined) args.push('G', guard);
    const a = s.activity;
    if (a) {
      if (s.expectBody !== undefined) args.push('X', a.id, s.expectBody);
      args.push('A', a.id, encodeActivity(a), a.home);
      if (a.foreignId !== '') ops.push({ t: 'fid', app, foreignId: a.foreignId, id: a.id });
      const actor = actorOf(a.body);
      if (actor !== null) ops.push({ t: 'actor', app, actor, id: a.id });
    }
    // Erased ids of other partitions are deleted in their own (idempotent) steps, after this one.
    const erase = byPartition(s.erase ?? [], partitionOf);
    for (const id of erase.get(n) ?? []) args.push('E', id);
    erase.delete(n);
    const rw = s.reactions;
    if (rw) {
      const all = [...(rw.add ?? []), ...(rw.update ?? []), ...(rw.remove ?? []), ...(rw.softDelete ?? []).map((x) => x.reaction), ...(rw.restore ?? [])];
      if (all.some((x) => partitionOf(x.activityId) !== n)) throw new Error('the reactions of one step must belong to one activity (and its step)');
      if (rw.checked) args.push('RK');
      for (const x of rw.add ?? []) {
        const k = reactionKeys(x);
        args.push('RA', x.id, k.owner, k.member, x.kind, k.core, k.payload, x.deletedUs === null ? '' : String(x.deletedUs));
        ops.push({ t: 'ruser', app, user: x.userId, id: x.id, member: k.member, part: n });
      }
      for (const x of rw.update ?? []) args.push('RU', x.id, reactionKeys(x).payload);
      for (const x of rw.softDelete ?? []) args.push('RS', x.reaction.id, String(x.deletedUs));
      for (const x of rw.restore ?? []) args.push('RR', x.id);
      for (const x of rw.remove ?? []) {
        if (rw.checked) args.push('RV', x.id, reactionKeys(x).payload);
        args.push('RX', x.id);
        ops.push({ t: 'ruser', app, user: x.userId, id: x.id, member: reactionKeys(x).member, part: n });
      }
    }
    const edgePart = (source: string) => {
      if (partitionOf(source) !== n) throw new Error('a follow step lives with its source feed: give it no activity or reactions');
    };
    if (s.follow) {
      edgePart(s.follow.source);
      args.push('F', s.follow.source, s.follow.target, edgeJson(s.follow));
      ops.push({ t: 'edge', app, source: s.follow.source, target: s.follow.target });
      ops.push({ t: 'unhide', app, source: s.follow.source, target: s.follow.target, since: s.follow.since });
    }
    if (s.unfollow) {
      edgePart(s.unfollow.source);
      args.push('U', s.unfollow.source, s.unfollow.target);
      ops.push({ t: 'edge', app, source: s.unfollow.source, target: s.unfollow.target });
    }
    if (s.audit && s.audit.changes.length > 0) ops.push({ t: 'audit', app, atUs: s.audit.atUs, changes: s.audit.changes });
    for (const op of ops) args.push('P', JSON.stringify(op));
    for (const intent of s.intents ?? []) {
      // "mode" first: a requeue rewrites it in place (see REQUEUE_LUA).
      const stored: StoredIntent = { mode: intent.mode, kind: intent.kind, source: intent.source, ids: intent.ids, app, queuedAt: now };
      args.push('I', intent.mode, JSON.stringify(stored));
    }
    let ids: string[];
    let opIds: string[];
    let dup: number;
    try {
      [[ids, opIds, dup]] = (await this.#r.write((p) => this.#commit.run(p, [this.#part(n)], args))) as [[string[], string[], number]];
    } catch (err) {
      const msg = (err as Error).message ?? '';
      if (msg.includes('CONFLICT ')) throw new ConflictError(msg.slice(msg.indexOf('CONFLICT ') + 9));
      if (msg.includes('STALE ')) throw new StaleWriteError(msg.slice(msg.indexOf('STALE ') + 6));
      throw err;
    }
    if (dup === 1) return { intents: [] };
    const intents: QueuedIntent[] = (s.intents ?? []).map((intent, i) => ({ ...intent, id: `${n}-${ids[i]}`, app, cursor: null, queuedAt: now, attempts: 0 }));
    if (this.beforeFollowUps) await this.beforeFollowUps();
    const after: Promise<unknown>[] = [];
    for (const [p, list] of erase) after.push(this.#r.write((pl) => this.#commit.run(pl, [this.#part(p)], [app, now, ...list.flatMap((id) => ['E', id])])));
    const pending = ops.map((op, i) => [opIds[i], op] as const);
    // The second step's intents are this write's intents.
    const second = pending.find(([, op]) => op.t === 'then');
    if (second) {
      const [id, op] = second as readonly [string, Extract<FollowUp, { t: 'then' }>];
      const done = await this.#step(op.app, op.step, `${n}-${id}`);
      await this.#forget(n, [id]);
      intents.push(...done.intents);
    }
    after.push(this.#settle(n, pending.filter(([, op]) => op.t !== 'then')));
    await Promise.all(after);
    return { intents };
  }

  /**
   * Fault injection for tests: runs after a step landed and before its follow-up operations are
   * applied; a test stands in for a writer that dies there by making it throw.
   */
  beforeFollowUps: (() => Promise<void>) | null = null;

  /**
   * What follow-up operations need beyond this queue: the follower's hides a follow lifts
   * (`RedisTimelineStore.unhideFollowed`), and where a claim that applies the operations of a
   * writer that died records what they changed (the read cache's change marks).
   */
  useOthers(others: {
    readonly unhideFollowed: (app: string, source: string, target: string, since: FollowWrite['since']) => Promise<void>;
    readonly mark: (keys: readonly string[]) => Promise<void>;
  }): void {
    this.#others = others;
  }

  #others: Parameters<RedisIntentQueue['useOthers']>[0] | null = null;

  /** Applies follow-up operations of partition `n`, then forgets them. */
  async #settle(n: number, ops: readonly (readonly [string, FollowUp])[]): Promise<void> {
    if (ops.length === 0) return;
    await Promise.all(ops.map(([id, op]) => (op.t === 'then' ? this.#step(op.app, op.step, `${n}-${id}`) : this.#apply(op))));
    await this.#forget(
      n,
      ops.map(([id]) => id),
    );
  }

  async #forget(n: number, ids: readonly string[]): Promise<void> {
    const base = this.#part(n);
    await Promise.all([this.#r.cluster.hdel(`${base}px`, ...ids), this.#r.cluster.zrem(`${base}pz`, ...ids)]);
  }

  async #apply(op: Exclude<FollowUp, { t: 'then' }>): Promise<void> {
    switch (op.t) {
      case 'unhide':
        if (!this.#others) throw new Error('the intent queue has no timeline store to lift hides with');
        return this.#others.unhideFollowed(op.app, op.source, op.target, op.since);
      case 'edge':
        return this.#follows.syncEdge(op.app, op.source, op.target);
      case 'fid': {
        const key = this.#r.keys.foreign(op.app, op.foreignId, 'ids');
        await this.#r.write((pl) => pl.zadd(key, 0, `${idOrderKey(op.id)}${op.id}`));
        return;
      }
      case 'actor': {
        const key = this.#r.keys.user(op.app, op.actor, 'acts');
        await this.#r.write((pl) => pl.zadd(key, 0, `${idOrderKey(op.id)}${op.id}`));
        return;
      }
      case 'ruser': {
        const key = this.#r.keys.user(op.app, op.user, 'rx');
        const exists = await this.#r.cluster.hexists(`${this.#part(op.part)}r:${op.app}`, op.id);
        await this.#r.write((pl) => (exists ? pl.zadd(key, 0, op.member) : pl.zrem(key, op.member)));
        return;
      }
      case 'audit':
        return this.#audit.append(op.app, op.changes, op.atUs);
      case 'pull':
        return this.#follows.pullWalk(op.app, op.feed);
    }
  }

  /** Applies the follow-up operations older than `olderThan` (ms) whose writer did not. */
  async #repair(olderThan: number): Promise<void> {
    await Promise.all(
      Array.from({ length: PARTITIONS }, async (_, n) => {
        const base = this.#part(n);
        const ids = await this.#r.cluster.zrangebyscore(`${base}pz`, '-inf', olderThan, 'LIMIT', 0, 100);
        if (ids.length === 0) return;
        const ops = await this.#r.cluster.hmget(`${base}px`, ...ids);
        const found = ids.flatMap((id, i) => (ops[i] === null ? [] : [[id, JSON.parse(ops[i]!) as FollowUp] as const]));
        await this.#settle(n, found);
        // What the writer would have marked after these operations, for the read caches of every node.
        const keys = new Set<string>();
        for (const [, op] of found) {
          if (op.t === 'unhide') keys.add(changeKey.feed(op.app, op.source));
          if (op.t === 'then') for (const k of stepChanges(op.app, op.step)) keys.add(k);
        }
        if (keys.size > 0) await this.#others?.mark([...keys]);
        const gone = ids.filter((_, i) => ops[i] === null);
        if (gone.length > 0) await this.#r.cluster.zrem(`${base}pz`, ...gone);
      }),
    );
  }

  async claim(limit: number, leaseMs: number, now: number): Promise<QueuedIntent[]> {
    const lease = Math.max(1, Math.trunc(leaseMs));
    const at = Math.trunc(now);
    if (this.#releasing.size > 0) await Promise.all(this.#releasing);
    await this.#repair(at - lease);
    if (limit <= 0) return [];
    if (Date.now() - this.#pruned > PRUNE_EVERY_MS) {
      this.#pruned = Date.now();
      await this.pruneConsumers(CONSUMER_GONE_MS);
    }
    // Each partition's share of the limit, read in one script per partition (all sent in this
    // tick: one pipeline per master). A partition holding more than its share keeps the rest for
    // the next claim (a round of the worker claims again at once while it finds jobs).
    const share = Math.ceil(limit / PARTITIONS);
    const rows = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, n) => this.#claim.run<[string, string, string, string][]>(this.#r.cluster, [this.#part(n)], [this.consumer, lease, at, share])),
    );
    const got = rows.flatMap((list, n) => list.map(([iid, json, attempts, cursor]) => ({ n, iid, intent: queued(n, iid, json, attempts, cursor) })));
    // Oldest first; intents tried more often yield to fresher ones.
    got.sort((x, y) => x.intent.attempts - y.intent.attempts || (x.intent.queuedAt ?? 0) - (y.intent.queuedAt ?? 0) || x.n - y.n || Number(x.iid) - Number(y.iid));
    // Shares add up to more than a limit below the number of partitions: the jobs past the limit
    // go back at once, with their cursors, for the next claim.
    if (got.length > limit) await this.progress(got.slice(limit).map((g) => ({ id: g.intent.id, cursor: g.intent.cursor })), true);
    return got.slice(0, limit).map((g) => g.intent);
  }

  /**
   * Removes from every partition's group the consumers that hold no job and were idle for
   * `goneMs` (workers that stopped or died, their jobs taken over); returns how many. Claims run
   * it every 10 minutes with an hour.
   */
  async pruneConsumers(goneMs: number): Promise<number> {
    const removed = await Promise.all(Array.from({ length: PARTITIONS }, (_, n) => this.#prune.run<number>(this.#r.cluster, [this.#part(n)], [Math.trunc(goneMs)])));
    return removed.reduce((a, b) => a + Number(b), 0);
  }

  async progress(updates: readonly { readonly id: string; readonly cursor: string | null }[], handBack = false): Promise<void> {
    const by = new Map<number, string[]>();
    for (const u of updates) {
      const id = parseIntentId(u.id);
      if (!id) continue;
      let list = by.get(id.part);
      if (!list) by.set(id.part, (list = []));
      list.push(id.iid, u.cursor ?? '');
    }
    await Promise.all([...by].map(([p, args]) => this.#progress.run(this.#r.cluster, [this.#part(p)], [this.consumer, handBack ? '1' : '0', ...args])));
  }

  async complete(ids: readonly string[]): Promise<void> {
    const parsed = ids.map(parseIntentId).filter((x) => x !== null);
    const by = byPartition(parsed, (x) => x.part);
    await Promise.all([...by].map(([p, list]) => this.#complete.run(this.#r.cluster, [this.#part(p)], list.map((x) => x.iid))));
  }

  async release(ids: readonly string[]): Promise<void> {
    // Not waited for (`WAIT`): the inline intents are durable and come back after their lease.
    const by = byPartition(ids.map(parseIntentId).filter((x) => x !== null), (x) => x.part);
    const done = Promise.all([...by].map(([p, list]) => this.#release.run(this.#r.cluster, [this.#part(p)], list.map((x) => x.iid)))).then(() => undefined);
    // A later claim of this process waits for it (see the port: a claim sees the releases before it).
    const settled = done.catch(() => undefined);
    this.#releasing.add(settled);
    void settled.then(() => this.#releasing.delete(settled));
    await done;
  }

  async failed(id: string, error: string, retryAt: number | null, now: number): Promise<void> {
    const x = parseIntentId(id);
    if (!x) return;
    await this.#r.write((p) => this.#failed.run(p, [this.#part(x.part)], [x.iid, error, retryAt === null ? '' : Math.trunc(retryAt), Math.trunc(now)]));
  }

  async deadLetterCount(): Promise<number> {
    const counts = await Promise.all(Array.from({ length: PARTITIONS }, (_, n) => this.#r.cluster.zcard(`${this.#part(n)}dlz`)));
    return counts.reduce((a, b) => a + b, 0);
  }

  async deadLetters(limit: number): Promise<(QueuedIntent & { readonly error: string; readonly failedAt: number })[]> {
    if (limit <= 0) return [];
    const rows = await Promise.all(Array.from({ length: PARTITIONS }, (_, n) => this.#dead.run<string[][]>(this.#r.cluster, [this.#part(n)], [limit])));
    const all = rows.flatMap((list, n) =>
      list.filter((r) => r[1] !== '').map(([iid, json, error, failedAt, attempts, cursor]) => ({ ...queued(n, iid, json, attempts, cursor), error, failedAt: Number(failedAt) })),
    );
    all.sort((x, y) => (x.queuedAt ?? 0) - (y.queuedAt ?? 0) || (x.id < y.id ? -1 : 1));
    return all.slice(0, limit);
  }

  async requeueDeadLetters(ids?: readonly string[]): Promise<number> {
    if (ids === undefined) {
      const moved = await Promise.all(Array.from({ length: PARTITIONS }, (_, n) => this.#r.write((p) => this.#requeue.run(p, [this.#part(n)], ['all']))));
      return moved.reduce((sum, [m]) => sum + Number(m), 0);
    }
    const by = byPartition(ids.map(parseIntentId).filter((x) => x !== null), (x) => x.part);
    const moved = await Promise.all([...by].map(([p, list]) => this.#r.write((pl) => this.#requeue.run(pl, [this.#part(p)], ['ids', ...list.map((x) => x.iid)]))));
    return moved.reduce((sum, [m]) => sum + Number(m), 0);
  }

  async pendingCount(): Promise<number> {
    const counts = await Promise.all(Array.from({ length: PARTITIONS }, (_, n) => this.#r.cluster.hlen(`${this.#part(n)}i`)));
    return counts.reduce((sum, c) => sum + c, 0);
  }

  async pending(limit: number): Promise<QueuedIntent[]> {
    if (limit <= 0) return [];
    const rows = await Promise.all(Array.from({ length: PARTITIONS }, (_, n) => this.#pending.run<string[][]>(this.#r.cluster, [this.#part(n)], [limit])));
    const all = rows.flatMap((list, n) => list.filter((r) => r[1] !== '').map(([iid, json, attempts, cursor]) => queued(n, iid, json, attempts, cursor)));
    all.sort((x, y) => (x.queuedAt ?? 0) - (y.queuedAt ?? 0) || (x.id < y.id ? -1 : 1));
    return all.slice(0, limit);
  }

  /** The activity ids of `app` that a queued or dead-lettered intent names (every partition; the activity sweep keeps them). */
  async namedActivities(app: string): Promise<Set<string>> {
    const rows = await Promise.all(Array.from({ length: PARTITIONS }, (_, n) => Promise.all([this.#r.cluster.hvals(`${this.#part(n)}i`), this.#r.cluster.hvals(`${this.#part(n)}dl`)])));
    const out = new Set<string>();
    for (const [live, dead] of rows) {
      for (const json of [...live, ...dead]) {
        const s = JSON.parse(json) as StoredIntent;
        if (s.app === app) for (const id of s.ids ?? []) out.add(id);
      }
    }
    return out;
  }

  async getActivities(app: string, ids: readonly string[]): Promise<Map<string, ActivityRecord>> {
    const out = new Map<string, ActivityRecord>();
    const by = byPartition(new Set(ids), partitionOf);
    // One HMGET per partition (each record beside its home feed), all sent in this tick: one
    // pipeline per node.
    const parts = [...by];
    const got = await Promise.all(parts.map(([p, list]) => this.#r.cluster.hmget(`${this.#part(p)}a:${app}`, ...list.flatMap((id) => [id, `${id}/h`]))));
    parts.forEach(([, list], k) => {
      const fields = got[k];
      list.forEach((id, i) => {
        const rec = fields[2 * i];
        if (rec !== null) out.set(id, decodeActivity(id, rec, fields[2 * i + 1] ?? ''));
      });
    });
    return out;
  }

  async idsByForeignId(app: string, foreignId: string): Promise<string[]> {
    const members = await this.#r.cluster.zrevrange(this.#r.keys.foreign(app, foreignId, 'ids'), 0, -1);
    const ids = members.map((m) => m.slice(32));
    if (ids.length === 0) return ids;
    // Erased activities leave their index entry behind; keep those that still exist.
    const live = await this.getActivities(app, ids);
    return ids.filter((id) => live.has(id));
  }
}
