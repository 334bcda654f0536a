import type { ContentJob, ContentTag } from '../../ports/content-tag-store.js';
import type { EventRecord } from '../../ports/event-log.js';
import type { ProfileChange, ProfileDimension, ProfileSource, ProfileWeight } from '../../ports/profile-store.js';
import type { HiddenActivity, HiddenPlacement } from '../../ports/seen-store.js';
import type { SignalStore } from '../../ports/signal-store.js';
import type { SignalWrites } from '../../ports/signal-writes.js';
import type { RedisConnection } from './connection.js';
import { LuaScript } from './scripts.js';

/**
 * The personalization stores on Redis.
 *
 * - The event log, its de-duplication keys and the profiles live in the app's slot
 *   (`rv:{<app>}:ev:…`, `…:prof:<user>`), so that an event, its key and the profile changes it
 *   causes are one Lua script: a retried event and its effects are dropped together, and effects
 *   never apply without their event.
 * - Content tags live with their activity (`rv:{<app>|a|<id>}:tags`), hides with their user
 *   (`rv:{<app>|u|<user>}:hid`; the users hiding an activity also beside it, `…|a|<id>}:hb`, which
 *   the activity sweep reads), the content job queue of every app in one shared slot.
 *
 * `recordSignals` checks every part before it writes any, then writes each part in its own step
 * (parts of one call may touch several slots); each step is idempotent except queuing a content
 * job, where a retried call may queue a second job for the same activity (the job is a pure
 * recomputation, so running it twice changes nothing).
 */

const PROFILE_LUA = `
local function decay(from, to, half)
  if not (half > 0) or to <= from then return 1 end
  return 0.5 ^ ((to - from) / half)
end
local function fmt(x) return string.format('%.17g', x) end
local function profile(b, c)
  local k = b .. 'prof:' .. c.user
  if c.op == 'add' then
    local f = c.dimension .. '\\n' .. c.source .. '\\n' .. c.key
    local cur = redis.call('HGET', k, f)
    local w, u = c.delta, c.atUs
    if cur then
      local sep = string.find(cur, ' ', 1, true)
      local cw, cu = tonumber(string.sub(cur, 1, sep - 1)), tonumber(string.sub(cur, sep + 1))
      if c.atUs >= cu then w = cw * decay(cu, c.atUs, c.halfLifeUs) + c.delta
      else w = cw + c.delta * decay(c.atUs, cu, c.halfLifeUs); u = cu end
    end
    redis.call('HSET', k, f, fmt(w) .. ' ' .. string.format('%.0f', u))
  elseif c.op == 'set' then
    redis.call('HSET', k, c.dimension .. '\\n' .. c.source .. '\\n' .. c.key, fmt(c.weight) .. ' ' .. string.format('%.0f', c.atUs))
  elseif c.op == 'remove' then
    if c.key ~= nil and c.key ~= cjson.null then
      redis.call('HDEL', k, c.dimension .. '\\n' .. c.source .. '\\n' .. c.key)
    else
      local head = c.dimension .. '\\n' .. c.source .. '\\n'
      for _, f in ipairs(redis.call('HKEYS', k)) do
        if string.sub(f, 1, #head) == head then redis.call('HDEL', k, f) end
      end
    end
  end
end
`;

// ARGV: n, then per event: dedupeKey, untilUs, receivedUs, orphan (1/0), record JSON less its
// head, effects JSON; then the JSON of profile changes not tied to an event.
const APPEND_LUA =
  PROFILE_LUA +
  `
local b = KEYS[1]
local n = tonumber(ARGV[1])
local seq = tonumber(redis.call('GET', b .. 'ev:seq') or '0')
local start = seq
local i = 2
for _ = 1, n do
  local key, untilUs, received, orphan, rest, effects = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  i = i + 6
  local live = redis.call('HGET', b .. 'ev:k', key)
  if not (live and tonumber(live) > received) then
    redis.call('HSET', b .. 'ev:k', key, untilUs)
    redis.call('ZADD', b .. 'ev:kx', untilUs, key)
    seq = seq + 1
    redis.call('HSET', b .. 'ev:e', seq, '{"seq":' .. seq .. ',' .. rest)
    redis.call('ZADD', b .. 'ev:s', seq, seq)
    redis.call('ZADD', b .. 'ev:r', received, seq)
    if orphan == '1' then redis.call('INCR', b .. 'ev:orph') end
    for _, c in ipairs(cjson.decode(effects)) do profile(b, c) end
  end
end
if seq ~= start then redis.call('SET', b .. 'ev:seq', seq) end
for _, c in ipairs(cjson.decode(ARGV[i])) do profile(b, c) end
return seq - start
`;

const READ_LUA = `
local b = KEYS[1]
local seqs = redis.call('ZRANGEBYSCORE', b .. 'ev:s', '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
if #seqs == 0 then return {} end
return redis.call('HMGET', b .. 'ev:e', unpack(seqs))
`;

const SWEEP_LUA = `
local b = KEYS[1]
local before, now, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
while true do
  local keys = redis.call('ZRANGEBYSCORE', b .. 'ev:kx', '-inf', now, 'LIMIT', 0, 1000)
  if #keys == 0 then break end
  for _, k in ipairs(keys) do
    local u = redis.call('HGET', b .. 'ev:k', k)
    if u and tonumber(u) <= tonumber(now) then redis.call('HDEL', b .. 'ev:k', k) end
  end
  redis.call('ZREM', b .. 'ev:kx', unpack(keys))
end
local seqs = redis.call('ZRANGEBYSCORE', b .. 'ev:r', '-inf', '(' .. before, 'LIMIT', 0, limit)
for _, s in ipairs(seqs) do
  local raw = redis.call('HGET', b .. 'ev:e', s)
  if raw and cjson.decode(raw).activity == cjson.null then redis.call('DECR', b .. 'ev:orph') end
  redis.call('HDEL', b .. 'ev:e', s)
  redis.call('ZREM', b .. 'ev:s', s)
  redis.call('ZREM', b .. 'ev:r', s)
end
return #seqs
`;

// Content jobs of every app: KEYS[1] is the queue's slot. ARGV: op, then its arguments.
const JOBS_LUA = `
local b = KEYS[1]
local op = ARGV[1]
local function pad(id) return string.format('%015d', id) end
if op == 'add' then
  local app = ARGV[2]
  for i = 3, #ARGV do
    local id = redis.call('INCR', b .. 'jobs:seq')
    redis.call('HSET', b .. 'jobs:e', pad(id), cjson.encode({ app = app, activityId = ARGV[i], attempts = 0 }))
    redis.call('ZADD', b .. 'jobs:q', 0, pad(id))
  end
elseif op == 'done' then
  for i = 2, #ARGV do
    redis.call('HDEL', b .. 'jobs:e', pad(tonumber(ARGV[i])))
    redis.call('ZREM', b .. 'jobs:q', pad(tonumber(ARGV[i])))
  end
elseif op == 'retry' then
  for i = 2, #ARGV, 2 do
    local id = pad(tonumber(ARGV[i]))
    local raw = redis.call('HGET', b .. 'jobs:e', id)
    if raw then
      local j = cjson.decode(raw)
      j.attempts = j.attempts + 1
      redis.call('HSET', b .. 'jobs:e', id, cjson.encode(j))
      redis.call('ZADD', b .. 'jobs:q', ARGV[i + 1], id)
    end
  end
elseif op == 'pending' then
  local ids = redis.call('ZRANGEBYSCORE', b .. 'jobs:q', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
  local out = {}
  for _, id in ipairs(ids) do
    local raw = redis.call('HGET', b .. 'jobs:e', id)
    if raw then out[#out + 1] = id .. ' ' .. raw end
  end
  return out
end
return 0
`;

const SOURCES: readonly ProfileSource[] = ['computed', 'manual', 'preference'];

function finite(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new TypeError(`${what} must be a finite number`);
  return x;
}

export class RedisSignalStore implements SignalStore {
  readonly #r: RedisConnection;
  readonly #append: LuaScript;
  readonly #read: LuaScript;
  readonly #sweep: LuaScript;
  readonly #jobs: LuaScript;

  constructor(r: RedisConnection) {
    this.#r = r;
    this.#append = new LuaScript(r.cluster, 'signal_append', APPEND_LUA);
    this.#read = new LuaScript(r.cluster, 'signal_read', READ_LUA);
    this.#sweep = new LuaScript(r.cluster, 'signal_sweep', SWEEP_LUA);
    this.#jobs = new LuaScript(r.cluster, 'content_jobs', JOBS_LUA);
  }

  async recordSignals(app: string, w: SignalWrites): Promise<void> {
    // Everything is checked before anything is written: a malformed part fails the whole call.
    const events = w.events ?? [];
    for (const e of events) {
      finite(e.dedupeUntilUs, 'dedupeUntilUs');
      finite(e.event.receivedUs, 'receivedUs');
      finite(e.event.trackedUs, 'trackedUs');
      finite(e.event.weight, 'weight');
      for (const c of e.effects ?? []) checkChange(c);
    }
    for (const c of w.profile ?? []) checkChange(c);
    for (const id of w.contentDone ?? []) finite(id, 'a content job id');
    for (const r of w.contentRetry ?? []) {
      finite(r.jobId, 'a content job id');
      finite(r.notBeforeUs, 'notBeforeUs');
    }
    for (const h of w.hides ?? []) finite(h.atUs, 'atUs');
    for (const t of w.tags ?? []) for (const tag of t.tags) finite(tag.weight, 'a tag weight');

    const steps: Promise<unknown>[] = [];
    const base = this.#r.keys.app(app, '');
    if (events.length > 0 || (w.profile?.length ?? 0) > 0) {
      const args: (string | number)[] = [events.length];
      for (const e of events) {
        const { id, source, user, kind, label, activity, foreignId, weight, feedId, location, position, features, trackedUs, receivedUs } = e.event;
        const rest = JSON.stringify({ id, source, user, kind, label, activity, foreignId, weight, feedId, location, position, features, trackedUs, receivedUs }).slice(1);
        args.push(e.dedupeKey, String(e.dedupeUntilUs), String(receivedUs), activity === null ? '1' : '0', rest, JSON.stringify(e.effects ?? []));
      }
      args.push(JSON.stringify(w.profile ?? []));
      steps.push(this.#r.write((p) => this.#append.run(p, [base], args)));
    }
    for (const t of w.tags ?? []) {
      const sorted = [...t.tags].sort((x, y) => y.weight - x.weight || (x.tag < y.tag ? -1 : x.tag > y.tag ? 1 : 0));
      const key = this.#r.keys.activity(app, t.activityId, 'tags');
      steps.push(this.#r.write((p) => (sorted.length > 0 ? p.set(key, JSON.stringify(sorted)) : p.del(key))));
    }
    const jobs = this.#r.keys.shared('jobs', '');
    if (w.contentJobs && w.contentJobs.length > 0) steps.push(this.#r.write((p) => this.#jobs.run(p, [jobs], ['add', app, ...w.contentJobs!])));
    if (w.contentDone && w.contentDone.length > 0) steps.push(this.#r.write((p) => this.#jobs.run(p, [jobs], ['done', ...w.contentDone!])));
    if (w.contentRetry && w.contentRetry.length > 0) {
      steps.push(this.#r.write((p) => this.#jobs.run(p, [jobs], ['retry', ...w.contentRetry!.flatMap((r) => [r.jobId, r.notBeforeUs])])));
    }
    // Hides of one user are one step (one slot); users are independent.
    const byUser = new Map<string, NonNullable<SignalWrites['hides']>[number][]>();
    for (const h of w.hides ?? []) {
      let list = byUser.get(h.user);
      if (!list) byUser.set(h.user, (list = []));
      list.push(h);
    }
    // A hidden activity is kept by the activity sweep: its users are also named beside it
    // (`hb`, in the activity's slot), before the hide is written and after the unhide is.
    const hiders = (h: NonNullable<SignalWrites['hides']>[number]) => this.#r.keys.activity(app, h.activityId, 'hb');
    for (const [user, hides] of byUser) {
      const key = this.#r.keys.user(app, user, 'hid');
      steps.push(
        (async () => {
          await Promise.all(hides.filter((h) => h.hidden).map((h) => this.#r.write((p) => p.sadd(hiders(h), user))));
          await this.#r.write((p) => {
            for (const h of hides) {
              if (h.hidden) p.hset(key, h.activityId, JSON.stringify({ hiddenUs: h.atUs, placements: h.placements ?? [] }));
              else p.hdel(key, h.activityId);
            }
          });
          await Promise.all(hides.filter((h) => !h.hidden).map((h) => this.#r.write((p) => p.srem(hiders(h), user))));
        })(),
      );
    }
    await Promise.all(steps);
  }

  async readEvents(app: string, afterSeq: number, limit: number): Promise<EventRecord[]> {
    const rows = await this.#read.run<(string | null)[]>(this.#r.cluster, [this.#r.keys.app(app, '')], [Math.trunc(afterSeq), Math.max(0, Math.trunc(limit))]);
    return rows.flatMap((r) => (r === null ? [] : [JSON.parse(r) as EventRecord]));
  }

  async orphanCount(app: string): Promise<number> {
    return Number((await this.#r.cluster.get(this.#r.keys.app(app, 'ev:orph'))) ?? 0);
  }

  async sweepEvents(app: string, beforeUs: number, nowUs: number, limit: number): Promise<number> {
    const [n] = await this.#r.write((p) => this.#sweep.run(p, [this.#r.keys.app(app, '')], [String(beforeUs), String(nowUs), Math.max(0, Math.trunc(limit))]));
    return n as number;
  }

  async profilesOf(app: string, users: readonly string[], sources?: readonly ProfileSource[]): Promise<Map<string, ProfileWeight[]>> {
    const out = new Map<string, ProfileWeight[]>();
    // One slot (the app's): the client sends these as one pipeline.
    const all = await Promise.all(users.map((u) => this.#r.cluster.hgetall(this.#r.keys.app(app, `prof:${u}`))));
    users.forEach((user, i) => {
      const list: ProfileWeight[] = [];
      for (const [field, value] of Object.entries(all[i])) {
        const [dimension, source, ...key] = field.split('\n');
        if (!SOURCES.includes(source as ProfileSource) || (sources !== undefined && !sources.includes(source as ProfileSource))) continue;
        const sep = value.indexOf(' ');
        list.push({ dimension: dimension as ProfileDimension, key: key.join('\n'), source: source as ProfileSource, weight: Number(value.slice(0, sep)), updatedUs: Number(value.slice(sep + 1)) });
      }
      if (list.length > 0) out.set(user, list);
    });
    return out;
  }

  async tagsOf(app: string, activityIds: readonly string[]): Promise<Map<string, ContentTag[]>> {
    const out = new Map<string, ContentTag[]>();
    const rows = await Promise.all(activityIds.map((id) => this.#r.cluster.get(this.#r.keys.activity(app, id, 'tags'))));
    activityIds.forEach((id, i) => {
      if (rows[i]) out.set(id, JSON.parse(rows[i]!) as ContentTag[]);
    });
    return out;
  }

  async pendingContentJobs(nowUs: number, limit: number): Promise<ContentJob[]> {
    const rows = await this.#jobs.run<string[]>(this.#r.cluster, [this.#r.keys.shared('jobs', '')], ['pending', String(nowUs), Math.max(0, Math.trunc(limit))]);
    return rows.map((r) => {
      const sep = r.indexOf(' ');
      const j = JSON.parse(r.slice(sep + 1)) as { app: string; activityId: string; attempts: number };
      return { jobId: Number(r.slice(0, sep)), app: j.app, activityId: j.activityId, attempts: j.attempts };
    });
  }

  async hiddenOf(app: string, user: string, activityIds: readonly string[]): Promise<Map<string, HiddenActivity>> {
    const out = new Map<string, HiddenActivity>();
    if (activityIds.length === 0) return out;
    const rows = await this.#r.cluster.hmget(this.#r.keys.user(app, user, 'hid'), ...activityIds);
    activityIds.forEach((id, i) => {
      if (rows[i] === null) return;
      const h = JSON.parse(rows[i]!) as { hiddenUs: number; placements: HiddenPlacement[] };
      out.set(id, { activityId: id, hiddenUs: h.hiddenUs, placements: h.placements });
    });
    return out;
  }

  async newestByForeignId(app: string, foreignIds: readonly string[]): Promise<Map<string, string>> {
    // The foreign-id index is written with each activity (see RedisIntentQueue): newest last.
    const out = new Map<string, string>();
    const rows = await Promise.all(foreignIds.map((f) => this.#r.cluster.zrevrange(this.#r.keys.foreign(app, f, 'ids'), 0, 0)));
    foreignIds.forEach((f, i) => {
      if (rows[i].length > 0) out.set(f, rows[i][0].slice(32));
    });
    return out;
  }
}

function checkChange(c: ProfileChange): void {
  if (c.op === 'add') {
    finite(c.delta, 'delta');
    finite(c.atUs, 'atUs');
    finite(c.halfLifeUs, 'halfLifeUs');
  } else if (c.op === 'set') {
    finite(c.weight, 'weight');
    finite(c.atUs, 'atUs');
  }
}
