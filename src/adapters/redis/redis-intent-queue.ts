import { createHash } from 'node:crypto';
import { idOrderKey } from '../../core/activities/activity-id.js';
import type { ActivityRecord, ActivityStore } from '../../ports/activity-store.js';
import type { CommittedStep, Intent, QueuedIntent, WriteStep } from '../../ports/intent-queue.js';
import type { RedisConnection } from './connection.js';
import type { RedisAuditLog } from './redis-records.js';
import { LuaScript } from './scripts.js';

/**
 * Activities and the intent queue on Redis, in {@link PARTITIONS} partitions shared by every app
 * (`rv:{rv:|p<n>}:…`). An activity's record lives in the partition of its id, and so do the
 * intents of the step that writes it: the record and its intents are one Lua script on one slot,
 * acknowledged (in `durable` mode) after `WAIT 1`.
 *
 * Per partition: `a:<app>` (id → record JSON), `h:<app>` (id → home feed, set once), `i` (intent
 * id → JSON), `at`/`cur`/`ls` (attempts, cursor, lease length per intent), `q` (claimable intents
 * by the time their lease ends: 0 for queued ones never claimed), `il` (inline intents by the
 * time they were written: a worker takes one only once the lease ran out and its writer did not
 * complete it), `dl` (dead letters). A lease is a score in `q`: a claim moves it `leaseMs` ahead,
 * so an intent is handed out at most once per lease, and one whose worker died comes back.
 *
 * After the step, outside it: the foreign-id index (`rv:{<app>|x|<foreign id>}:ids`, an idempotent
 * add) and the step's audit entries (the app's slot). A crash between the two leaves an activity
 * that analytics cannot find by foreign id, or a change without its audit entry.
 *
 * Steps that write reactions, follows or unfollows are not on Redis yet and are refused.
 */
export const PARTITIONS = 16;

const COMMIT_LUA = `
local b = KEYS[1]
local app, now = ARGV[1], tonumber(ARGV[2])
local id, rec, home = ARGV[3], ARGV[4], ARGV[5]
if id ~= '' then
  redis.call('HSET', b .. 'a:' .. app, id, rec)
  redis.call('HSETNX', b .. 'h:' .. app, id, home)
end
local out = {}
local i = 6
local nerase = tonumber(ARGV[i])
i = i + 1
for _ = 1, nerase do
  redis.call('HDEL', b .. 'a:' .. app, ARGV[i])
  redis.call('HDEL', b .. 'h:' .. app, ARGV[i])
  i = i + 1
end
while i <= #ARGV do
  local mode, json = ARGV[i], ARGV[i + 1]
  i = i + 2
  local iid = tostring(redis.call('INCR', b .. 'seq'))
  redis.call('HSET', b .. 'i', iid, json)
  if mode == 'queued' then redis.call('ZADD', b .. 'q', 0, iid) else redis.call('ZADD', b .. 'il', now, iid) end
  out[#out + 1] = iid
end
return out
`;

const CLAIM_LUA = `
local b = KEYS[1]
local limit, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, iid in ipairs(redis.call('ZRANGEBYSCORE', b .. 'il', '-inf', now - lease)) do
  redis.call('ZREM', b .. 'il', iid)
  redis.call('ZADD', b .. 'q', 0, iid)
end
local out = {}
for _, iid in ipairs(redis.call('ZRANGEBYSCORE', b .. 'q', '-inf', now, 'LIMIT', 0, limit)) do
  local json = redis.call('HGET', b .. 'i', iid)
  if json then
    local attempts = tonumber(redis.call('HINCRBY', b .. 'at', iid, 1)) - 1
    redis.call('HSET', b .. 'ls', iid, lease)
    redis.call('ZADD', b .. 'q', now + lease, iid)
    out[#out + 1] = {iid, json, attempts, redis.call('HGET', b .. 'cur', iid) or false}
  else
    redis.call('ZREM', b .. 'q', iid)
  end
end
return out
`;

const PROGRESS_LUA = `
local b = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #ARGV, 2 do
  local iid = ARGV[i]
  if redis.call('HEXISTS', b .. 'i', iid) == 1 then
    redis.call('HSET', b .. 'cur', iid, ARGV[i + 1])
    local lease = tonumber(redis.call('HGET', b .. 'ls', iid) or '0')
    if redis.call('ZSCORE', b .. 'q', iid) then redis.call('ZADD', b .. 'q', now + lease, iid) end
  end
end
return 0
`;

const DONE_LUA = `
local b = KEYS[1]
local err = ARGV[1]
for i = 2, #ARGV do
  local iid = ARGV[i]
  local json = redis.call('HGET', b .. 'i', iid)
  if json and err ~= '' then redis.call('HSET', b .. 'dl', iid, json .. '\\n' .. err) end
  redis.call('HDEL', b .. 'i', iid)
  redis.call('HDEL', b .. 'at', iid)
  redis.call('HDEL', b .. 'cur', iid)
  redis.call('HDEL', b .. 'ls', iid)
  redis.call('ZREM', b .. 'q', iid)
  redis.call('ZREM', b .. 'il', iid)
end
return 0
`;

/** The partition of an activity id (or of any other owner of a step). */
export function partitionOf(key: string): number {
  return createHash('md5').update(key).digest().readUInt16BE(0) % PARTITIONS;
}

/** Intent ids are `<partition>-<n>`. */
function partOfIntent(id: string): number {
  const p = Number(id.slice(0, id.indexOf('-')));
  if (!Number.isInteger(p) || p < 0 || p >= PARTITIONS) throw new TypeError(`not an intent id: ${id}`);
  return p;
}

interface StoredIntent extends Intent {
  readonly app: string;
  readonly queuedAt: number;
}

// Written against the first shape of the IntentQueue port (claim without `now`, deadLetter); the
// port has since gained retries (`failed`) and dead-letter listing, not adapted here yet.
export class RedisIntentQueue implements ActivityStore {
  readonly #r: RedisConnection;
  readonly #audit: RedisAuditLog;
  readonly #commit: LuaScript;
  readonly #claim: LuaScript;
  readonly #progress: LuaScript;
  readonly #done: LuaScript;
  #nextPartition = 0;

  constructor(r: RedisConnection, audit: RedisAuditLog) {
    this.#r = r;
    this.#audit = audit;
    this.#commit = new LuaScript(r.cluster, 'intent_commit', COMMIT_LUA);
    this.#claim = new LuaScript(r.cluster, 'intent_claim', CLAIM_LUA);
    this.#progress = new LuaScript(r.cluster, 'intent_progress', PROGRESS_LUA);
    this.#done = new LuaScript(r.cluster, 'intent_done', DONE_LUA);
  }

  #part(n: number): string {
    return this.#r.keys.shared(`p${n}`, '');
  }

  async commit(app: string, steps: readonly WriteStep[]): Promise<CommittedStep[]> {
    for (const s of steps) {
      if (s.reactions || s.follow || s.unfollow) throw new Error('reactions and follows are not stored on Redis yet');
    }
    return Promise.all(steps.map((s) => this.#step(app, s)));
  }

  async #step(app: string, s: WriteStep): Promise<CommittedStep> {
    const now = Date.now();
    const a = s.activity;
    const owner = a?.id ?? s.intents?.[0]?.source ?? s.erase?.[0] ?? '';
    const n = partitionOf(owner);
    // Erased ids of other partitions are deleted in their own (idempotent) steps.
    const erase = new Map<number, string[]>();
    for (const id of s.erase ?? []) {
      const p = partitionOf(id);
      let list = erase.get(p);
      if (!list) erase.set(p, (list = []));
      list.push(id);
    }
    const args: (string | number)[] = [app, now];
    if (a) args.push(a.id, JSON.stringify({ id: a.id, timeUs: a.timeUs, foreignId: a.foreignId, to: a.to, body: a.body }), a.home);
    else args.push('', '', '');
    const mine = erase.get(n) ?? [];
    erase.delete(n);
    args.push(mine.length, ...mine);
    for (const intent of s.intents ?? []) {
      const stored: StoredIntent = { kind: intent.kind, source: intent.source, ids: intent.ids, mode: intent.mode, app, queuedAt: now };
      args.push(intent.mode, JSON.stringify(stored));
    }
    const [ids] = (await this.#r.write((p) => this.#commit.run(p, [this.#part(n)], args))) as [number[] | string[]];
    const intents: QueuedIntent[] = (s.intents ?? []).map((intent, i) => ({ ...intent, id: `${n}-${ids[i]}`, app, cursor: null, queuedAt: now, attempts: 0 }));
    const after: Promise<unknown>[] = [];
    for (const [p, list] of erase) after.push(this.#r.write((pl) => this.#commit.run(pl, [this.#part(p)], [app, now, '', '', '', list.length, ...list])));
    if (a && a.foreignId !== '') {
      const key = this.#r.keys.foreign(app, a.foreignId, 'ids');
      after.push(this.#r.write((pl) => pl.zadd(key, 0, `${idOrderKey(a.id)}${a.id}`)));
    }
    if (s.audit && s.audit.changes.length > 0) after.push(this.#audit.append(app, s.audit.changes, s.audit.atUs));
    await Promise.all(after);
    return { intents };
  }

  async claim(limit: number, leaseMs: number): Promise<QueuedIntent[]> {
    const out: QueuedIntent[] = [];
    const start = this.#nextPartition;
    this.#nextPartition = (this.#nextPartition + 1) % PARTITIONS;
    for (let k = 0; k < PARTITIONS && out.length < limit; k++) {
      const n = (start + k) % PARTITIONS;
      const rows = await this.#claim.run<[string, string, number, string | null][]>(this.#r.cluster, [this.#part(n)], [limit - out.length, Math.max(1, Math.trunc(leaseMs))]);
      for (const [iid, json, attempts, cursor] of rows) {
        const s = JSON.parse(json) as StoredIntent;
        out.push({ kind: s.kind, source: s.source, ids: s.ids, mode: s.mode, id: `${n}-${iid}`, app: s.app, cursor: cursor || null, queuedAt: s.queuedAt, attempts });
      }
    }
    // Oldest first; intents tried more often yield to fresher ones.
    return out.sort((x, y) => x.attempts - y.attempts || (x.queuedAt ?? 0) - (y.queuedAt ?? 0));
  }

  async progress(updates: readonly { readonly id: string; readonly cursor: string | null }[]): Promise<void> {
    const by = new Map<number, string[]>();
    for (const u of updates) {
      const p = partOfIntent(u.id);
      let list = by.get(p);
      if (!list) by.set(p, (list = []));
      list.push(u.id.slice(u.id.indexOf('-') + 1), u.cursor ?? '');
    }
    await Promise.all([...by].map(([p, args]) => this.#r.write((pl) => this.#progress.run(pl, [this.#part(p)], args))));
  }

  async complete(ids: readonly string[]): Promise<void> {
    await this.#finish(ids, '');
  }

  async deadLetter(id: string, error: string): Promise<void> {
    await this.#finish([id], error || 'failed');
  }

  async #finish(ids: readonly string[], error: string): Promise<void> {
    const by = new Map<number, string[]>();
    for (const id of ids) {
      const p = partOfIntent(id);
      let list = by.get(p);
      if (!list) by.set(p, (list = []));
      list.push(id.slice(id.indexOf('-') + 1));
    }
    await Promise.all([...by].map(([p, list]) => this.#r.write((pl) => this.#done.run(pl, [this.#part(p)], [error, ...list]))));
  }

  async pendingCount(): Promise<number> {
    const counts = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, n) => Promise.all([this.#r.cluster.zcard(`${this.#part(n)}q`), this.#r.cluster.zcard(`${this.#part(n)}il`)])),
    );
    return counts.reduce((sum, [q, il]) => sum + q + il, 0);
  }

  /** Dead letters of every partition, with their error (for operators and tests). */
  async deadLetters(): Promise<{ id: string; app: string; error: string }[]> {
    const all = await Promise.all(Array.from({ length: PARTITIONS }, (_, n) => this.#r.cluster.hgetall(`${this.#part(n)}dl`)));
    return all.flatMap((h, n) =>
      Object.entries(h).map(([iid, v]) => {
        const cut = v.indexOf('\n');
        return { id: `${n}-${iid}`, app: (JSON.parse(v.slice(0, cut)) as StoredIntent).app, error: v.slice(cut + 1) };
      }),
    );
  }

  async getActivities(app: string, ids: readonly string[]): Promise<Map<string, ActivityRecord>> {
    const out = new Map<string, ActivityRecord>();
    const unique = [...new Set(ids)];
    const by = new Map<number, string[]>();
    for (const id of unique) {
      const p = partitionOf(id);
      let list = by.get(p);
      if (!list) by.set(p, (list = []));
      list.push(id);
    }
    // One HMGET pair per partition, all sent in this tick: one pipeline per node.
    const parts = [...by];
    const got = await Promise.all(parts.map(([p, list]) => Promise.all([this.#r.cluster.hmget(`${this.#part(p)}a:${app}`, ...list), this.#r.cluster.hmget(`${this.#part(p)}h:${app}`, ...list)])));
    parts.forEach(([, list], k) => {
      const [recs, homes] = got[k];
      list.forEach((id, i) => {
        if (recs[i] !== null) out.set(id, { ...(JSON.parse(recs[i]!) as Omit<ActivityRecord, 'home'>), home: homes[i] ?? '' });
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
