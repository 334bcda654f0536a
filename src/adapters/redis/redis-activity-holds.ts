import type { ActivitySweepStep } from '../../ports/store.js';
import type { RedisConnection } from './connection.js';
import { byPartition, partitionBase, PARTITIONS, partitionOf } from './partitions.js';
import { LuaScript } from './scripts.js';

/**
 * How many feed entries hold each activity, and the activities no feed holds any more: what the
 * activity sweep ({@link Store.sweepActivities}) deletes, found without walking the keyspace.
 *
 * In the activity's write partition (`redis-intent-queue.ts`): `ho:<app>` (activity id → the
 * number of feed entries and retained group activities naming it) and `hz:<app>` (the candidates
 * of the sweep: activities whose count fell to 0, scored -1 until a sweep pass first finds them so,
 * then by that time; -2 when the activity was written again meanwhile: a re-post of its id, whose
 * fan-out job the step's check may have missed). The feed scripts run in the feeds' slots, so a
 * count cannot change in the same script as the entries: a write counts the entries it may add
 * BEFORE adding them and takes back what it did not add (and what it removed or trimmed) after. A
 * writer that dies in between leaves a count too high, never too low: an activity may stay longer
 * than it should, but one a feed holds is never deleted.
 *
 * Deleting an activity leaves work in other slots (its content tags, the feeds' hides of its id,
 * change marks): the script that deletes it also lists it in `hc:<app>`, and the id leaves that
 * list only once the clean-up is done, so a sweeper that dies in between leaves the clean-up to
 * the next step over the partition.
 */

// ADJUST_FN adds one delta to its activity's count; a count reaching 0 makes the activity a candidate
// (unless it already is), a count above 0 takes it out of the candidates.
const ADJUST_FN = `
local function adjust(ho, hz, id, d)
  local v = redis.call('HINCRBY', ho, id, d)
  if v > 0 then
    redis.call('ZREM', hz, id)
  else
    redis.call('HDEL', ho, id)
    if d < 0 then redis.call('ZADD', hz, 'NX', -1, id) end
  end
end
`;

const ADJUST_LUA = `${ADJUST_FN}
local b = KEYS[1]
local ho, hz = b .. 'ho:' .. ARGV[1], b .. 'hz:' .. ARGV[1]
for i = 2, #ARGV, 2 do
  adjust(ho, hz, ARGV[i], tonumber(ARGV[i + 1]))
end
return 0
`;

// ADJUST_LUA's work for ARGV[3 .. 2 + 2 * ARGV[2]] (id, delta pairs), after it records the sources
// that follow in triples (id, source, direct '1' or '0') in `hs` (id → its one source feed, or
// '*' once it has had two). A direct add creates the record: with the source alone when no entry
// was counted for the id before (a new activity), else '*' (entries from before the record, of
// unknown sources). An add that is not direct (a fan-out page) creates it with its source alone
// when that is sure from what the partition holds (see `lazy`), and otherwise leaves it
// uncreated. Returns, per triple, 1 when the id's record names that source alone, else 0.
// Sources are recorded before the counts change.
const SOURCES_LUA = `${ADJUST_FN}
local b = KEYS[1]
local app = ARGV[1]
local ho, hz, hs = b .. 'ho:' .. app, b .. 'hz:' .. app, b .. 'hs:' .. app
local np = tonumber(ARGV[2])
local out = {}
-- Whether a fan-out entry from \`src\` may create the record of an activity that has none (one
-- written before records existed, or spread without a direct entry first): when no entry holding
-- it is counted, none exists, so \`src\` is its only source so far; when one entry is counted and
-- the activity's record names \`src\` as its home feed and no \`to\` targets, that entry is its
-- direct entry in \`src\` (an activity's direct entries are in its home and its targets), or one
-- from \`src\` in a follower. Any other state keeps the record uncreated (every page of the
-- activity then looks for the id under another origin).
local function lazy(id, src)
  local held = redis.call('HGET', ho, id)
  if not held then return true end
  if tonumber(held) ~= 1 or redis.call('HGET', b .. 'a:' .. app, id .. '/h') ~= src then return false end
  local rec = redis.call('HGET', b .. 'a:' .. app, id)
  if not rec or string.sub(rec, 1, 1) == '{' then return false end
  local x = string.find(rec, '\\n', 1, true)
  local y = x and string.find(rec, '\\n', x + 1, true)
  return y ~= nil and string.sub(rec, y + 1, y + 3) == '[]\\n'
end
for i = 3 + 2 * np, #ARGV, 3 do
  local id, src, direct = ARGV[i], ARGV[i + 1], ARGV[i + 2] == '1'
  local cur = redis.call('HGET', hs, id)
  if not cur then
    if direct then
      if redis.call('HEXISTS', ho, id) == 1 then
        redis.call('HSET', hs, id, '*')
        out[#out + 1] = 0
      else
        redis.call('HSET', hs, id, src)
        out[#out + 1] = 1
      end
    elseif lazy(id, src) then
      redis.call('HSET', hs, id, src)
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  elseif cur == src then
    out[#out + 1] = 1
  else
    if cur ~= '*' then redis.call('HSET', hs, id, '*') end
    out[#out + 1] = 0
  end
end
for i = 3, 2 + 2 * np, 2 do
  local d = tonumber(ARGV[i + 1])
  if d ~= 0 then adjust(ho, hz, ARGV[i], d) end
end
return out
`;

// Candidates a sweep step looks at: unmarked ones (-1) and those unheld since at most ARGV[2];
// and the deleted activities whose clean-up is not done yet (`hc`).
const PEEK_LUA = `
local b = KEYS[1]
return {
  redis.call('ZRANGEBYSCORE', b .. 'hz:' .. ARGV[1], '-inf', ARGV[2], 'LIMIT', tonumber(ARGV[3]), tonumber(ARGV[4])),
  redis.call('SRANDMEMBER', b .. 'hc:' .. ARGV[1], tonumber(ARGV[4]))
}
`;

// Marks or deletes the given candidates, each checked again here: one a feed holds again is no
// candidate; one written again since the caller's check (-2, see COMMIT_LUA in
// redis-intent-queue.ts) is not deleted in this step; an unmarked one is marked with the pass's
// time (ARGV[2]) when there is a retention (ARGV[4] = '1'), and one unheld since at most ARGV[3]
// is deleted and listed in `hc` (its clean-up elsewhere is to do). Returns the deleted ids.
const SWEEP_LUA = `
local b = KEYS[1]
local app, now, cutoff, retain = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local ho, hz, a = b .. 'ho:' .. app, b .. 'hz:' .. app, b .. 'a:' .. app
local gone = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  local since = redis.call('ZSCORE', hz, id)
  if since then
    since = tonumber(since)
    if tonumber(redis.call('HGET', ho, id) or '0') > 0 then
      redis.call('ZREM', hz, id)
    elseif since == -2 then
      -- Written again since this step's check of what needs it: not deleted now; marked with the
      -- pass's time (or unmarked without a retention) for a later step to look at again.
      if retain then redis.call('ZADD', hz, now, id) else redis.call('ZADD', hz, -1, id) end
    elseif since < 0 and retain then
      redis.call('ZADD', hz, now, id)
    elseif since <= cutoff then
      redis.call('ZREM', hz, id)
      redis.call('HDEL', b .. 'hs:' .. app, id)
      if redis.call('HDEL', a, id, id .. '/h') > 0 then
        gone[#gone + 1] = id
        redis.call('SADD', b .. 'hc:' .. app, id)
      end
    end
  end
end
return gone
`;

/** Where an added entry comes from (see {@link RedisActivityHolds.adjustWithSources}). */
export interface AddSource {
  readonly id: string;
  /** The entry's origin feed, or the feed it is written in for a direct entry. */
  readonly source: string;
  /** A direct entry (origin null). */
  readonly direct: boolean;
}

export class RedisActivityHolds {
  readonly #r: RedisConnection;
  readonly #adjust: LuaScript;
  readonly #sources: LuaScript;
  readonly #peek: LuaScript;
  readonly #sweep: LuaScript;

  constructor(r: RedisConnection) {
    this.#r = r;
    this.#adjust = new LuaScript(r.cluster, 'holds_adjust', ADJUST_LUA);
    this.#sources = new LuaScript(r.cluster, 'holds_sources', SOURCES_LUA);
    this.#peek = new LuaScript(r.cluster, 'holds_peek', PEEK_LUA);
    this.#sweep = new LuaScript(r.cluster, 'holds_sweep', SWEEP_LUA);
  }

  /**
   * Adds `delta` to each activity's count of holding entries (one script per partition, all sent
   * in this tick). Zero deltas are skipped.
   */
  async adjust(app: string, deltas: ReadonlyMap<string, number>): Promise<void> {
    const list = [...deltas].filter(([, d]) => d !== 0);
    if (list.length === 0) return;
    const by = byPartition(list, ([id]) => partitionOf(id));
    await Promise.all(
      [...by].map(([p, items]) => this.#r.write((pl) => this.#adjust.run(pl, [partitionBase(this.#r.keys, p)], [app, ...items.flatMap(([id, d]) => [id, d])]))),
    );
  }

  /**
   * {@link adjust}, after recording where each of `adds` comes from (its source: the origin feed of
   * an entry, or for a direct entry the feed it is written in) in the activity's partition
   * (`hs:<app>`, id → its one source, or `*` once it has had two). One script per partition,
   * all sent in this tick. Resolves with the keys (`<id> <source>`) of the adds whose activity
   * has had that source alone: an entry of such an add can be in a feed only under that one
   * source's origin, so adding its member needs no look for the id under another origin.
   *
   * A record is created by a direct add (the write of the activity into its own feed), so that
   * an activity whose entries were written before its record (by an earlier version, or by an
   * add that is not direct) is never taken for one of a single source: a direct add finding
   * entries counted already records `*`. A fan-out add creates a missing record with its source
   * when no entry of the activity is counted, or when one is and the activity's record names
   * that source as its home and no `to` targets (its direct entry in its home): the first page
   * of an activity written before records existed makes its later pages take the plain adds. A caller that relies on the answer must read the
   * record again after its adds ({@link sourcesOf}): a second source recorded in between may
   * have added its entry before them.
   */
  async adjustWithSources(app: string, deltas: ReadonlyMap<string, number>, adds: readonly AddSource[]): Promise<Set<string>> {
    const by = new Map<number, { deltas: (string | number)[]; adds: string[]; keys: string[] }>();
    const at = (id: string) => {
      const p = partitionOf(id);
      let g = by.get(p);
      if (!g) by.set(p, (g = { deltas: [], adds: [], keys: [] }));
      return g;
    };
    for (const [id, d] of deltas) if (d !== 0) at(id).deltas.push(id, d);
    for (const a of adds) {
      const g = at(a.id);
      g.adds.push(a.id, a.source, a.direct ? '1' : '0');
      g.keys.push(`${a.id} ${a.source}`);
    }
    const single = new Set<string>();
    await Promise.all(
      [...by].map(async ([p, g]) => {
        const [flags] = (await this.#r.write((pl) => this.#sources.run(pl, [partitionBase(this.#r.keys, p)], [app, g.deltas.length / 2, ...g.deltas, ...g.adds]))) as [number[]];
        flags.forEach((f, k) => {
          if (f === 1) single.add(g.keys[k]);
        });
      }),
    );
    return single;
  }

  /** The source recorded for each of `ids` (`*`: more than one; null: none), see {@link adjustWithSources}. */
  async sourcesOf(app: string, ids: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    const by = byPartition(ids, (id) => partitionOf(id));
    await Promise.all(
      [...by].map(async ([p, list]) => {
        const got = await this.#r.cluster.hmget(`${partitionBase(this.#r.keys, p)}hs:${app}`, ...list);
        list.forEach((id, k) => out.set(id, got[k]));
      }),
    );
    return out;
  }

  /**
   * One step of the sweep over one partition's candidates at a time. The cursor is
   * `<partition>:<offset>` (candidates kept because something still needs them are skipped by the
   * offset). `needed(ids)` returns those of `ids` that something other than a feed entry still
   * needs (queued fan-out jobs, personalization hides).
   */
  async step(
    app: string,
    after: string | null,
    limit: number,
    nowMs: number,
    retentionMs: number,
    needed: (ids: readonly string[]) => Promise<Set<string>>,
    cleanUp: (ids: readonly string[]) => Promise<void>,
  ): Promise<ActivitySweepStep> {
    let [part, offset] = after === null ? [0, 0] : after.split(':').map(Number);
    if (!Number.isInteger(part) || !Number.isInteger(offset) || part < 0 || offset < 0) [part, offset] = [0, 0];
    const max = Math.max(1, Math.trunc(limit));
    const now = Math.trunc(nowMs);
    const cutoff = retentionMs > 0 ? now - Math.trunc(retentionMs) : now;
    for (; part < PARTITIONS; part++, offset = 0) {
      const base = partitionBase(this.#r.keys, part);
      // Unmarked candidates (-1) are looked at whatever the cutoff.
      const [ids, unfinished] = await this.#peek.run<[string[], string[]]>(this.#r.cluster, [base], [app, Math.max(cutoff, -1), offset, max]);
      // Clean-ups a sweeper that died left undone (one step's worth at a time).
      if (unfinished.length > 0) await this.#cleanUp(app, base, unfinished, cleanUp);
      if (ids.length === 0) continue;
      const keep = await needed(ids);
      const act = ids.filter((id) => !keep.has(id));
      const gone = act.length === 0 ? [] : ((await this.#r.write((pl) => this.#sweep.run(pl, [base], [app, now, cutoff, retentionMs > 0 ? '1' : '0', ...act])))[0] as string[]);
      if (gone.length > 0) await this.#cleanUp(app, base, gone, cleanUp);
      const full = ids.length >= max;
      const next = full ? `${part}:${offset + keep.size}` : part + 1 < PARTITIONS ? `${part + 1}:0` : null;
      return { next, examined: ids.length, deleted: gone.length };
    }
    return { next: null, examined: 0, deleted: 0 };
  }

  async #cleanUp(app: string, base: string, ids: readonly string[], cleanUp: (ids: readonly string[]) => Promise<void>): Promise<void> {
    await cleanUp(ids);
    await this.#r.write((pl) => pl.srem(`${base}hc:${app}`, ...ids));
  }

  /**
   * Lists `feed` as hiding each of `ids` (\`{<app>|a|<id>}:hf\`), before the feed's hide is
   * written: the sweep that deletes an activity removes its hides from the feeds listed. A feed
   * listed that hides nothing (a hide that failed, an unhide) costs an idle removal.
   */
  async hiding(app: string, hides: readonly { readonly feed: string; readonly ids: readonly string[] }[]): Promise<void> {
    const by = new Map<string, Set<string>>();
    for (const h of hides) for (const id of h.ids) (by.get(id) ?? by.set(id, new Set()).get(id)!).add(h.feed);
    await Promise.all([...by].map(([id, feeds]) => this.#r.write((pl) => pl.sadd(this.#r.keys.activity(app, id, 'hf'), ...feeds))));
  }

  /** The feeds listed as hiding `id` (see {@link hiding}). */
  hidingFeeds(app: string, id: string): Promise<string[]> {
    return this.#r.cluster.smembers(this.#r.keys.activity(app, id, 'hf'));
  }
}
