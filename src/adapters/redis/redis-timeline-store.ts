import { idAtTime, idOrderKey, isUuid } from '../../core/activities/activity-id.js';
import type { ActivityStore } from '../../ports/activity-store.js';
import type { FollowWrite } from '../../ports/intent-queue.js';
import type { ApplyOptions, FeedChange, FeedOp, FeedScan, ReaderState, TimelineEntry, TimelineStore } from '../../ports/timeline-store.js';
import { PIPELINE_CHUNK, type RedisConnection } from './connection.js';
import type { ChainableCommander } from 'ioredis';
import type { AddSource, RedisActivityHolds } from './redis-activity-holds.js';
import { isMissingFunction, LuaFunctions, LuaScript } from './scripts.js';

/**
 * {@link TimelineStore} on Redis. Every key of a feed shares the feed's hash tag
 * (`rv:{<app>|f|<feed>}:…`):
 *
 * - `tl`: a sorted set whose members all score 0, so it is ordered by member bytes. A member is
 *   the activity id's order key (32 hex digits, time first: see `idOrderKey`) followed by the
 *   entry's origin feed (nothing for a direct entry). Ranges by id are `ZREVRANGEBYLEX` bounds,
 *   the entry count is `ZCARD`, and an id is found by its 32-digit prefix.
 * - `hid`: the ids the feed hid from its merged reads (a set); `fl`: its floor (order key + id).
 * - An aggregated or notification feed keeps its activities in its groups instead
 *   (`redis-group-store.ts`); `entriesOf` (and so removals) finds them there too.
 *
 * `apply` runs each feed's operations as one Lua script on the feed's slot; the scripts of many
 * feeds are sent in one tick, so the client pipelines them per node (a fan-out page is one round
 * trip per master). A scan with bodies reads the page's entries, then the activities' records in
 * one batch.
 */

const HEX = 32;

const APPLY_LUA = `
local b = KEYS[1]
local tl = b .. 'tl'
local added, removed = {}, {}
local function find(hex)
  return redis.call('ZRANGEBYLEX', tl, '[' .. hex, '[' .. hex .. '\\255', 'LIMIT', 0, 1)[1]
end
local i = 1
while i <= #ARGV do
  local kind = ARGV[i]
  if kind == 'add' then
    local n, max = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
    i = i + 3
    local fresh = {}
    for _ = 1, n do
      local hex, origin = ARGV[i], ARGV[i + 1]
      i = i + 2
      if not find(hex) then
        redis.call('ZADD', tl, 0, hex .. origin)
        fresh[#fresh + 1] = hex .. origin
      end
    end
    local over = redis.call('ZCARD', tl) - max
    local gone = {}
    if over > 0 then
      -- Every member scores 0, so the lowest are the first in member order: the oldest.
      local popped = redis.call('ZPOPMIN', tl, over)
      for j = 1, #popped, 2 do gone[popped[j]] = true end
    end
    local isFresh = {}
    for _, m in ipairs(fresh) do
      isFresh[m] = true
      if not gone[m] then added[#added + 1] = m end
    end
    -- Entries the trim pushed out are removed (an entry added and trimmed at once is neither).
    for m in pairs(gone) do
      if not isFresh[m] then removed[#removed + 1] = string.sub(m, 1, ${HEX}) end
    end
  elseif kind == 'remove' then
    local n, only, origin = tonumber(ARGV[i + 1]), ARGV[i + 2] == '1', ARGV[i + 3]
    i = i + 4
    for _ = 1, n do
      local hex = ARGV[i]
      i = i + 1
      local m = find(hex)
      if m and (not only or string.sub(m, ${HEX + 1}) == origin) then
        redis.call('ZREM', tl, m)
        removed[#removed + 1] = hex
      end
    end
  elseif kind == 'removeOrigin' then
    local origin = ARGV[i + 1]
    i = i + 2
    for _, m in ipairs(redis.call('ZRANGE', tl, 0, -1)) do
      if string.sub(m, ${HEX + 1}) == origin then
        redis.call('ZREM', tl, m)
        removed[#removed + 1] = string.sub(m, 1, ${HEX})
      end
    end
  elseif kind == 'hide' then
    local n, floor = tonumber(ARGV[i + 1]), ARGV[i + 2]
    i = i + 3
    for _ = 1, n do
      redis.call('SADD', b .. 'hid', ARGV[i])
      i = i + 1
    end
    if floor ~= '' then
      local cur = redis.call('GET', b .. 'fl')
      if not cur or string.sub(cur, 1, ${HEX}) < string.sub(floor, 1, ${HEX}) then redis.call('SET', b .. 'fl', floor) end
    end
  elseif kind == 'unhide' then
    local n = tonumber(ARGV[i + 1])
    i = i + 2
    for _ = 1, n do
      redis.call('SREM', b .. 'hid', ARGV[i])
      i = i + 1
    end
  else
    return redis.error_reply('unknown feed operation ' .. tostring(kind))
  end
end
return {added, removed}
`;

// The one-entry add of a fan-out page (the hot path, see \`#fanoutPage\`), a function of
// the store's function library: the general script's work for this case with no tables built. KEYS[1]
// is the feed's \`tl\`, ARGV the member (order key and origin) and the feed's maximum length.
// Returns 0 when the id was there (nothing changed), -1 when it was there twice, once as this
// member, which it took out (a duplicate left by a page that stopped), 1 when the entry was added and nothing
// trimmed, else what the trim removed as ZPOPMIN answers it, member and score (0) in turn (the new
// entry among them when it was trimmed at once). Three commands when nothing is trimmed, four when
// the feed was full.
const ADD_ONE_LUA = `
local tl, m = KEYS[1], ARGV[1]
local hex = string.sub(m, 1, ${HEX})
local found = redis.call('ZRANGEBYLEX', tl, '[' .. hex, '[' .. hex .. '\\255', 'LIMIT', 0, 2)
if found[1] then
  -- The id twice, one of them this member: a page that added it with a plain ZADD stopped before
  -- it could take it out again (see \`#fanoutPage\`); the other entry stays.
  if found[2] and (found[1] == m or found[2] == m) then
    redis.call('ZREM', tl, m)
    return -1
  end
  return 0
end
redis.call('ZADD', tl, 0, m)
local over = redis.call('ZCARD', tl) - tonumber(ARGV[2])
if over <= 0 then return 1 end
return redis.call('ZPOPMIN', tl, over)
`;

// The trim of a feed that a fan-out page found beyond its maximum length (see \`#fanoutPage\`):
// KEYS[1] is the feed's \`tl\`, ARGV[1] its maximum length. Returns what it removed as ZPOPMIN
// answers it, member and score (0) in turn, the oldest first; nothing when the feed is not over.
const TRIM_LUA = `
local tl = KEYS[1]
local over = redis.call('ZCARD', tl) - tonumber(ARGV[1])
if over <= 0 then return {} end
return redis.call('ZPOPMIN', tl, over)
`;

// A scan that keeps direct entries only (members of exactly 32 digits), skipping \`offset\` of them.
const SCAN_DIRECT_LUA = `
local hi, lo, offset, limit = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
local pos = 0
while #out < limit do
  local ms = redis.call('ZREVRANGEBYLEX', KEYS[1] .. 'tl', hi, lo, 'LIMIT', pos, 500)
  if #ms == 0 then break end
  pos = pos + #ms
  for _, m in ipairs(ms) do
    if #m == ${HEX} then
      if offset > 0 then offset = offset - 1 else out[#out + 1] = m end
      if #out >= limit then break end
    end
  end
end
return out
`;

// Takes the page's own entry (ARGV[1]) out of the feed when the feed holds its id under another
// origin too (see \`#fanoutPage\`): 1 when it did, else 0.
const DEDUPE_LUA = `
local tl, m = KEYS[1], ARGV[1]
local hex = string.sub(m, 1, ${HEX})
for _, x in ipairs(redis.call('ZRANGEBYLEX', tl, '[' .. hex, '[' .. hex .. '\\255', 'LIMIT', 0, 2)) do
  if x ~= m then return redis.call('ZREM', tl, m) end
end
return 0
`;

/**
 * Feeds of at least this maximum length are trimmed by one fan-out add in {@link TRIM_EVERY}, not
 * by every one (see \`#fanoutPage\`); shorter feeds are trimmed by every add.
 */
export const LAZY_TRIM_MIN = 1000;

/** One fan-out add in this many trims a feed of {@link LAZY_TRIM_MIN} entries or more (a power of 2). */
export const TRIM_EVERY = 16;

/** Whether the add of an id (its `salt`) into `feed` is one that trims (about one in {@link TRIM_EVERY}, the same every time). */
function trimTurn(feed: string, salt: number): boolean {
  let h = (2166136261 ^ salt) | 0;
  for (let i = 0; i < feed.length; i++) h = Math.imul(h ^ feed.charCodeAt(i), 16777619);
  return ((h ^ (h >>> 16)) & (TRIM_EVERY - 1)) === 0;
}

/** Where an entry of a page comes from: its origin, or the feed itself for a direct entry. */
function sourceOf(op: AddOp): string {
  return op.entries[0].origin ?? op.feed;
}

const FF = Buffer.from([0xff]);

/** Thrown (and caught) when a fan-out page's first pipelines were built on a wrong guess (see `#fanoutPage`). */
const GUESSED_WRONG = new Error('built on a wrong guess of the sources');

/** The removed ids of a change that removed nothing (shared, read only). */
const NONE: readonly string[] = Object.freeze([]);

/** The activity id of an order key (or of a member: its first 32 digits). */
function idOfHex(hex: string): string {
  return `${hex.slice(8, 16)}-${hex.slice(4, 8)}-${hex.slice(0, 4)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Converts a member back to its entry. */
function entryOf(member: string): TimelineEntry {
  return { id: idOfHex(member), origin: member.length > HEX ? member.slice(HEX) : null };
}

function orderKey(id: string): string {
  const lower = id.toLowerCase();
  if (!isUuid(lower)) throw new TypeError(`not an activity id: ${id.slice(0, 40)}`);
  return idOrderKey(lower);
}

/**
 * The lex bounds of a scan, for `ZREVRANGEBYLEX key hi lo`. Members of one id all start with its
 * 32 digits and an origin never holds byte 0xff, so "ids below X" is `(X`, "ids up to X" is
 * `(X\xff`, "ids from X" is `[X` and "ids above X" is `[X\xff`; of two bounds on one side the
 * stricter wins.
 */
function bounds(s: FeedScan): { hi: Buffer | string; lo: Buffer | string } {
  const uppers: Buffer[] = [];
  const lowers: Buffer[] = [];
  if (s.idLt !== undefined) uppers.push(Buffer.from(orderKey(s.idLt)));
  if (s.idLte !== undefined) uppers.push(Buffer.concat([Buffer.from(orderKey(s.idLte)), FF]));
  if (s.idGte !== undefined) lowers.push(Buffer.from(orderKey(s.idGte)));
  if (s.idGt !== undefined) lowers.push(Buffer.concat([Buffer.from(orderKey(s.idGt)), FF]));
  const hi = uppers.sort(Buffer.compare)[0];
  const lo = lowers.sort(Buffer.compare).at(-1);
  return {
    hi: hi ? Buffer.concat([Buffer.from('('), hi]) : '+',
    lo: lo ? Buffer.concat([Buffer.from('['), lo]) : '-',
  };
}

type AddOp = Extract<FeedOp, { kind: 'add' }>;

/** Whether every operation adds one entry to a feed no other operation of the call names (a fan-out page). */
function isFanoutPage(ops: readonly FeedOp[]): ops is readonly AddOp[] {
  if (ops.length === 0) return false;
  const feeds = new Set<string>();
  for (const op of ops) {
    if (op.kind !== 'add' || op.entries.length !== 1 || feeds.has(op.feed)) return false;
    feeds.add(op.feed);
  }
  return true;
}

export class RedisTimelineStore implements TimelineStore {
  readonly #r: RedisConnection;
  readonly #activities: ActivityStore;
  readonly #apply: LuaScript;
  readonly #scanDirect: LuaScript;
  readonly #holds: RedisActivityHolds;
  readonly #fns = new LuaFunctions('timeline', { add1: ADD_ONE_LUA, dedupe: DEDUPE_LUA, trim: TRIM_LUA });
  /**
   * `<app> <id> <source>` of fan-out adds this store was told have no single source (see
   * `#fanoutPage`): their next pages are built for the look from the start. Forgotten in bulk when
   * it grows large (a wrong guess only costs building a page's first pipelines again).
   */
  readonly #multi = new Set<string>();

  #noteMulti(key: string): void {
    if (this.#multi.size >= 10_000) this.#multi.clear();
    this.#multi.add(key);
  }

  constructor(r: RedisConnection, activities: ActivityStore, holds: RedisActivityHolds) {
    this.#r = r;
    this.#holds = holds;
    this.#activities = activities;
    this.#apply = new LuaScript(r.cluster, 'feed_apply', APPLY_LUA);
    this.#scanDirect = new LuaScript(r.cluster, 'feed_scan_direct', SCAN_DIRECT_LUA);
  }

  async scan(app: string, scan: FeedScan): Promise<(TimelineEntry & { readonly body?: string })[]> {
    return (await this.scanMany(app, [scan]))[0];
  }

  async scanMany(app: string, scans: readonly FeedScan[]): Promise<(TimelineEntry & { readonly body?: string })[][]> {
    // Every scan goes out in this tick: one pipeline per node. A scan with bodies skips entries
    // whose activity is gone, so it reads from the start of its range and fills up in rounds.
    const raw = scans.map((s) => (s.bodies ? { ...s, offset: 0, limit: Math.max(0, Math.trunc(s.offset ?? 0)) + Math.max(0, Math.trunc(s.limit)) } : s));
    const pages = await Promise.all(raw.map((s) => this.#members(app, s)));
    const lists = pages.map((ms) => ms.map(entryOf));
    const out: (TimelineEntry & { readonly body?: string })[][] = lists.map((l, i) => (scans[i].bodies ? [] : l));
    let pending = scans.map((s, i) => i).filter((i) => scans[i].bodies && raw[i].limit > 0);
    const found: (TimelineEntry & { body: string })[][] = scans.map(() => []);
    let round = lists;
    const asked = raw.map((s) => Math.max(0, Math.trunc(s.limit)));
    while (pending.length > 0) {
      const ids = new Set<string>();
      for (const i of pending) for (const e of round[i]) ids.add(e.id);
      const records = ids.size === 0 ? new Map() : await this.#activities.getActivities(app, [...ids]);
      const next: number[] = [];
      const more: FeedScan[] = [];
      for (const i of pending) {
        for (const e of round[i]) {
          const r = records.get(e.id);
          if (r) found[i].push({ ...e, body: r.body });
        }
        const want = raw[i].limit;
        // A full page that left the scan short: go on below its last entry.
        if (found[i].length < want && round[i].length > 0 && round[i].length >= asked[i]) {
          const last = round[i][round[i].length - 1].id;
          next.push(i);
          asked[i] = want - found[i].length;
          more.push({ ...scans[i], idLt: last, idLte: undefined, offset: 0, limit: asked[i] });
        }
      }
      if (next.length === 0) break;
      const pages2 = await Promise.all(more.map((s) => this.#members(app, s)));
      round = scans.map(() => [] as TimelineEntry[]);
      next.forEach((i, k) => {
        round[i] = pages2[k].map(entryOf);
      });
      pending = next;
    }
    scans.forEach((s, i) => {
      if (!s.bodies) return;
      const offset = Math.max(0, Math.trunc(s.offset ?? 0));
      out[i] = found[i].slice(offset, offset + Math.max(0, Math.trunc(s.limit)));
    });
    return out;
  }

  #members(app: string, s: FeedScan): Promise<string[]> {
    const { hi, lo } = bounds(s);
    const base = this.#r.keys.feed(app, s.feed, '');
    const offset = Math.max(0, Math.trunc(s.offset ?? 0));
    const limit = Math.max(0, Math.trunc(s.limit));
    if (limit === 0) return Promise.resolve([]);
    if (s.directOnly) return this.#scanDirect.run<string[]>(this.#r.cluster, [base], [hi, lo, offset, limit]);
    return this.#r.cluster.zrevrangebylex(`${base}tl`, hi, lo, 'LIMIT', offset, limit);
  }

  async readerState(app: string, feed: string): Promise<ReaderState> {
    const [count, floor, hidden] = await Promise.all([
      this.#r.cluster.zcard(this.#r.keys.feed(app, feed, 'tl')),
      this.#r.cluster.get(this.#r.keys.feed(app, feed, 'fl')),
      this.#r.cluster.smembers(this.#r.keys.feed(app, feed, 'hid')),
    ]);
    return { count, floor: floor === null ? null : floor.slice(HEX), hidden };
  }

  async entriesOf(app: string, feed: string, ids: readonly string[]): Promise<TimelineEntry[]> {
    const key = this.#r.keys.feed(app, feed, 'tl');
    const found = await Promise.all(
      ids.map((id) => {
        const hex = orderKey(id);
        return this.#r.cluster.zrangebylex(key, `[${hex}`, Buffer.concat([Buffer.from(`[${hex}`), FF]), 'LIMIT', 0, 1);
      }),
    );
    const out: TimelineEntry[] = [];
    const seen = new Set<string>();
    for (const [m] of found) {
      if (m === undefined || seen.has(m)) continue;
      seen.add(m);
      out.push(entryOf(m));
    }
    // An aggregated or notification feed holds its activities in its groups (redis-group-store.ts:
    // `ge` names the group retaining an id, `g` holds the group with its entries), not in `tl`.
    const have = new Set(out.map((e) => e.id));
    const missing = [...new Set(ids)].filter((id) => !have.has(id));
    if (missing.length > 0) {
      const groupIds = await this.#r.cluster.hmget(this.#r.keys.feed(app, feed, 'ge'), ...missing);
      const wanted = [...new Set(groupIds.filter((g): g is string => g !== null))];
      if (wanted.length > 0) {
        const groups = await this.#r.cluster.hmget(this.#r.keys.feed(app, feed, 'g'), ...wanted);
        const ask = new Set(missing);
        for (const json of groups) {
          if (json === null) continue;
          for (const e of (JSON.parse(json) as { entries: TimelineEntry[] }).entries) {
            if (ask.has(e.id) && !have.has(e.id)) {
              have.add(e.id);
              out.push({ id: e.id, origin: e.origin });
            }
          }
        }
      }
    }
    return out;
  }

  async entriesByForeignId(app: string, feed: string, foreignId: string): Promise<TimelineEntry[]> {
    const ids = await this.#activities.idsByForeignId(app, foreignId);
    return ids.length === 0 ? [] : this.entriesOf(app, feed, ids);
  }

  /**
   * A follow of `target` by `source` shows the target's direct entries from `since` on again: the
   * source's hides of them go (as on SQLite, in its follow step). Reads the source's hides and
   * looks them up among the target's direct entries (two slots), then removes the matching hides
   * with the source's feed script. Called after the follow step landed.
   */
  async unhideFollowed(app: string, source: string, target: string, since: FollowWrite['since']): Promise<void> {
    const hidden = await this.#r.cluster.smembers(this.#r.keys.feed(app, source, 'hid'));
    const bound = since === null ? '' : idOrderKey('id' in since ? since.id : idAtTime(since.timeUs));
    const candidates = hidden.filter((id) => isUuid(id) && idOrderKey(id) >= bound);
    if (candidates.length === 0) return;
    const tl = this.#r.keys.feed(app, target, 'tl');
    const scores = await Promise.all(candidates.map((id) => this.#r.cluster.zscore(tl, idOrderKey(id))));
    const ids = candidates.filter((_, i) => scores[i] !== null);
    if (ids.length > 0) await this.apply(app, [{ kind: 'unhide', feed: source, ids }]);
  }

  async apply(app: string, ops: readonly FeedOp[], opts: ApplyOptions = {}): Promise<FeedChange[]> {
    const report = opts.changes !== false;
    const changes = isFanoutPage(ops) ? await this.#fanoutPage(app, ops, report) : await this.#applyOps(app, ops, report);
    // Operations no durable intent redoes are as durable as a write step when the call resolves
    // (durable mode: on a replica of each master they went to).
    if (!opts.covered && this.#r.settings.durability === 'durable') await this.#r.waitReplicated([...new Set(ops.map((op) => this.#r.keys.feed(app, op.feed, '')))]);
    return changes;
  }

  async #applyOps(app: string, ops: readonly FeedOp[], report: boolean): Promise<FeedChange[]> {
    // Order keys are worked out once per id (a fan-out page names one id in every feed).
    const hexOf = new Map<string, string>();
    const hex = (id: string): string => {
      let h = hexOf.get(id);
      if (h === undefined) hexOf.set(id, (h = orderKey(id)));
      return h;
    };
    // One script per feed, its operations in the order given.
    const byFeed = new Map<string, (string | number)[]>();
    // The entries an add may put in are counted as holding their activity before they are written
    // (see RedisActivityHolds); the adds that did not land, and removed or trimmed entries, are
    // taken back after.
    const tried = new Map<string, number>();
    // Where each added entry comes from, recorded with the counts (see `#fanoutPage`).
    const sources = new Map<string, AddSource>();
    for (const op of ops) {
      let args = byFeed.get(op.feed);
      if (!args) byFeed.set(op.feed, (args = []));
      switch (op.kind) {
        case 'add':
          args.push('add', op.entries.length, Math.max(0, Math.trunc(op.maxLength)));
          for (const e of op.entries) {
            const h = hex(e.id);
            args.push(h, e.origin ?? '');
            const id = idOfHex(h);
            tried.set(id, (tried.get(id) ?? 0) + 1);
            const source = e.origin ?? op.feed;
            if (!sources.has(`${id} ${source}`)) sources.set(`${id} ${source}`, { id, source, direct: e.origin === null });
          }
          break;
        case 'remove':
          args.push('remove', op.ids.length, op.origin === undefined ? '0' : '1', op.origin ?? '');
          for (const id of op.ids) args.push(hex(id));
          break;
        case 'removeOrigin':
          args.push('removeOrigin', op.origin);
          break;
        case 'hide':
          args.push('hide', op.ids.length, op.floor === undefined ? '' : `${hex(op.floor)}${op.floor}`, ...op.ids);
          break;
        case 'unhide':
          args.push('unhide', op.ids.length, ...op.ids);
          break;
      }
    }
    const hides = ops.filter((op) => op.kind === 'hide');
    await Promise.all([sources.size > 0 ? this.#holds.adjustWithSources(app, tried, [...sources.values()]) : undefined, hides.length > 0 ? this.#holds.hiding(app, hides) : undefined]);
    const feeds = [...byFeed.keys()];
    const results = await Promise.all(feeds.map((feed) => this.#apply.run<[string[], string[]]>(this.#r.cluster, [this.#r.keys.feed(app, feed, '')], byFeed.get(feed)!)));
    const changes: FeedChange[] = [];
    const held = new Map([...tried].map(([id, n]) => [id, -n]));
    results.forEach(([added, removed], i) => {
      if (added.length === 0 && removed.length === 0) return;
      const change = { feed: feeds[i], added: added.map(entryOf), removed: removed.map(idOfHex) };
      for (const e of change.added) held.set(e.id, (held.get(e.id) ?? 0) + 1);
      for (const id of change.removed) held.set(id, (held.get(id) ?? 0) - 1);
      if (report) changes.push(change);
    });
    await this.#holds.adjust(app, held);
    return changes;
  }

  /**
   * A fan-out page ({@link isFanoutPage}): one command per feed, sent in pipelines of
   * {@link PIPELINE_CHUNK} per master, with no per-feed argument lists or tables built.
   *
   * Most feeds get a plain `ZADD` of the entry's member, which is what the operation comes to when
   * two checks can be left out:
   * - the look for the id under another origin: an activity that has had one source alone (the
   *   feed it was written in, whose followers get it with that feed as their origin; recorded per
   *   activity by {@link RedisActivityHolds.adjustWithSources}, in the same script that counts the
   *   page's entries before they are written) can be in a feed only under that origin, so the
   *   member is the same wherever it is and `ZADD` is idempotent on its own;
   * - the trim: a feed whose maximum length is at least {@link LAZY_TRIM_MIN} is looked at on one
   *   add in {@link TRIM_EVERY} (chosen by feed and id): that add's `ZADD` is followed by a `ZCARD`
   *   of the feed (in the same pipeline), and a feed found beyond its maximum is trimmed by
   *   {@link TRIM_LUA} once the page's adds are in. So it may hold a few entries beyond its
   *   maximum, its oldest, until its next trim, and a feed below its maximum costs no function.
   * The other feeds get the one-entry add function ({@link ADD_ONE_LUA}): look, add, trim. After the
   * `ZADD`s the page reads the activities' records of sources again: a second source recorded in
   * the meantime may have put its entry in a feed before the page's `ZADD`, and the page then
   * takes its own entry out of each feed it added to that holds the id twice (the other entry was
   * written first, or at the same time, and stays).
   *
   * The count of entries holding the page's activities goes up before any command is sent and is
   * taken back after for the entries that did not land or were trimmed. `report` false: no change
   * records are built (nobody listens).
   */
  async #fanoutPage(app: string, ops: readonly AddOp[], report: boolean): Promise<FeedChange[]> {
    // A page names one activity in every feed, seldom a few: one record per distinct id.
    const byId = new Map<string, PageId>();
    const info: PageId[] = new Array(ops.length);
    const members: string[] = new Array(ops.length);
    const keys: string[] = new Array(ops.length);
    const max: string[] = new Array(ops.length);
    const sourceKeys: string[] = new Array(ops.length);
    const sources = new Map<string, AddSource>();
    let lastMax = -1;
    let lastMaxArg = '';
    let last: PageId | null = null;
    let lastOrigin: string | null = null;
    const head = this.#r.keys.feedHead(app);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const e = op.entries[0];
      let h: PageId | undefined = last !== null && e.id === last.id ? last : byId.get(e.id);
      if (h === undefined) {
        const hex = orderKey(e.id);
        byId.set(e.id, (h = { hex, id: idOfHex(hex), salt: parseInt(hex.slice(24), 16) | 0, tried: 0, held: 0 }));
      }
      h.tried++;
      info[i] = h;
      keys[i] = `${head}${op.feed}}:tl`;
      if (op.maxLength !== lastMax) {
        lastMax = op.maxLength;
        lastMaxArg = String(Math.max(0, Math.trunc(op.maxLength)));
      }
      max[i] = lastMaxArg;
      if (e.origin !== null && h === last && e.origin === lastOrigin) {
        // The usual case: the same member and source as the feed before (one string each, not one per feed).
        members[i] = members[i - 1];
        sourceKeys[i] = sourceKeys[i - 1];
        continue;
      }
      last = h;
      lastOrigin = e.origin;
      members[i] = e.origin === null ? h.hex : h.hex + e.origin;
      const source = sourceOf(op);
      const sk = `${h.id} ${source}`;
      sourceKeys[i] = sk;
      if (!sources.has(sk)) sources.set(sk, { id: h.id, source, direct: e.origin === null });
    }
    const tried = new Map<string, number>();
    for (const h of byId.values()) tried.set(h.id, (tried.get(h.id) ?? 0) + h.tried);
    const cluster = this.#r.cluster;
    const counted = Promise.all([this.#holds.adjustWithSources(app, tried, [...sources.values()]), this.#fns.ready(cluster)]);
    // Which feeds may get a plain ZADD (see above) if the activity has one source; an entry whose
    // origin is its own feed (a feed following itself) may meet the feed's direct entry of the
    // id, so it is looked for.
    const may: boolean[] = new Array(ops.length);
    const plain: boolean[] = new Array(ops.length);
    const multi = this.#multi;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      may[i] = op.maxLength >= LAZY_TRIM_MIN && op.entries[0].origin !== op.feed;
      plain[i] = may[i] && !multi.has(`${app} ${sourceKeys[i]}`);
    }
    // The feeds whose length a plain add looks at (its turn to trim): a `ZCARD` each, after the
    // page's commands (so after the feed's `ZADD`, on the same connection).
    const looked: number[] = [];
    for (let i = 0; i < ops.length; i++) if (may[i] && trimTurn(ops[i].feed, info[i].salt)) looked.push(i);
    const sent = looked.length === 0 ? keys : keys.concat(looked.map((i) => keys[i]));
    const n = ops.length;
    const fn = this.#fns.name('add1');
    const call = (p: ChainableCommander, i: number) =>
      i >= n ? p.zcard(sent[i]) : plain[i] ? p.zadd(keys[i], 0, members[i]) : p.call('fcall', fn, '1', keys[i], members[i], max[i]);
    // The first pipelines are built while the counts and sources are on their way, on the guess
    // that the activity has one source (unless this store saw otherwise); they are sent once the
    // answer agrees with the guess, and built again when it does not.
    const agreed = counted.then(([single]) => {
      let same = true;
      for (let i = 0; i < ops.length; i++) {
        const p = may[i] && single.has(sourceKeys[i]);
        if (p !== plain[i]) {
          same = false;
          plain[i] = p;
          if (!p) this.#noteMulti(`${app} ${sourceKeys[i]}`);
        }
      }
      if (!same) throw GUESSED_WRONG;
    });
    let settled: unknown[];
    try {
      settled = await this.#calls(sent, call, agreed);
    } catch (err) {
      if (err !== GUESSED_WRONG) throw err;
      settled = await this.#calls(sent, call);
    }
    // Plain adds into feeds found beyond their maximum: trimmed now (sent with the second look below).
    const over: number[] = [];
    looked.forEach((i, k) => {
      if (plain[i] && (settled[n + k] as number) > Number(max[i])) over.push(i);
    });
    const trims =
      over.length === 0
        ? null
        : this.#calls(
            over.map((i) => keys[i]),
            (p, k) => p.call('fcall', this.#fns.name('trim'), '1', keys[over[k]], max[over[k]]),
          );
    trims?.catch(() => {});
    // Entries the page added with a plain ZADD, by activity: their source is read again, and the
    // page's outcome is worked out while that read is on its way (again after it, in the rare case
    // that it takes entries out).
    let plainAdded: Map<PageId, number[]> | null = null;
    for (let i = 0; i < ops.length; i++) {
      if (plain[i] && settled[i] === 1) {
        plainAdded ??= new Map();
        const list = plainAdded.get(info[i]);
        if (list) list.push(i);
        else plainAdded.set(info[i], [i]);
      }
    }
    const again = plainAdded ? this.#holds.sourcesOf(app, [...plainAdded.keys()].map((h) => h.id)) : null;
    again?.catch(() => {});
    if (trims) {
      // A trimmed feed's reply becomes what the one-entry add answers for an add that trimmed
      // (the members removed, with their scores), or, when its ZADD added nothing, a removal.
      const popped = (await trims) as string[][];
      over.forEach((i, k) => {
        const res = popped[k];
        if (res.length === 0) return;
        settled[i] = settled[i] === 1 ? res : { removedOnly: res };
      });
    }
    let out = this.#outcome(ops, settled, members, info, byId, report);
    if (again && plainAdded) {
      const now = await again;
      const redo: number[] = [];
      for (const [h, list] of plainAdded) {
        // Every entry of the list has the source the record named alone when the page began.
        if (now.get(h.id) !== sourceOf(ops[list[0]])) redo.push(...list);
      }
      if (redo.length > 0) {
        const dedupe = this.#fns.name('dedupe');
        const res = await this.#calls(
          redo.map((i) => keys[i]),
          (p, k) => p.call('fcall', dedupe, '1', keys[redo[k]], members[redo[k]]),
        );
        // Taken out again: neither added nor removed.
        let changed = false;
        redo.forEach((i, k) => {
          if (res[k] !== 1) return;
          const was = settled[i];
          // A trimmed feed keeps its other removals.
          settled[i] = Array.isArray(was) ? { removedOnly: (was as string[]).filter((_, j, all) => j % 2 === 0 ? all[j] !== members[i] : all[j - 1] !== members[i]) } : 0;
          changed = true;
        });
        if (changed) out = this.#outcome(ops, settled, members, info, byId, report);
      }
    }
    await this.#holds.adjust(app, out.held);
    return out.changes;
  }

  /**
   * What a fan-out page did from its commands' replies (`settled`): the changes to report (none
   * when `report` is false) and the page's corrections of the counts of holding entries (added
   * entries were counted as tried before; those that did not land, and trimmed ones, go back).
   */
  #outcome(ops: readonly AddOp[], settled: readonly unknown[], members: readonly string[], info: readonly PageId[], byId: ReadonlyMap<string, PageId>, report: boolean): { changes: FeedChange[]; held: Map<string, number> } {
    for (const h of byId.values()) h.held = 0;
    const changes: FeedChange[] = [];
    // Entries the trims removed, by activity id (rare: only feeds at their maximum length trim).
    let trimmed: Map<string, number> | null = null;
    for (let i = 0; i < ops.length; i++) {
      const res = settled[i] as -1 | 0 | 1 | string[] | { removedOnly: string[] };
      if (res === 0) continue;
      const h = info[i];
      if (!Array.isArray(res) && typeof res === 'object') {
        // A feed the page trimmed after its ZADD found the entry there: only removals.
        const removed: string[] = [];
        for (let j = 0; j < res.removedOnly.length; j += 2) removed.push(idOfHex(res.removedOnly[j]));
        trimmed ??= new Map();
        for (const x of removed) trimmed.set(x, (trimmed.get(x) ?? 0) + 1);
        if (report) changes.push({ feed: ops[i].feed, added: [], removed });
        continue;
      }
      if (res === -1) {
        // A duplicate taken out: one entry fewer holds the activity; the feed still shows it.
        trimmed ??= new Map();
        trimmed.set(h.id, (trimmed.get(h.id) ?? 0) + 1);
        continue;
      }
      if (res === 1) {
        h.held++;
        if (report) {
          // One list of the added entry per activity and origin, shared by the page's changes (read only).
          const origin = ops[i].entries[0].origin ?? null;
          let added = h.added?.get(origin);
          if (added === undefined) (h.added ??= new Map()).set(origin, (added = Object.freeze([Object.freeze({ id: h.id, origin })])));
          changes.push({ feed: ops[i].feed, added, removed: NONE });
        }
        continue;
      }
      // The trim's members (every other element; the others are their scores): the new entry
      // among them was trimmed at once (neither added nor removed).
      const member = members[i];
      const removed: string[] = [];
      for (let j = 0; j < res.length; j += 2) if (res[j] !== member) removed.push(idOfHex(res[j]));
      const added = removed.length === res.length / 2;
      if (added) h.held++;
      trimmed ??= new Map();
      for (const x of removed) trimmed.set(x, (trimmed.get(x) ?? 0) + 1);
      if (report && (added || removed.length > 0)) changes.push({ feed: ops[i].feed, added: added ? [{ id: h.id, origin: ops[i].entries[0].origin ?? null }] : [], removed });
    }
    const held = new Map<string, number>();
    for (const h of byId.values()) held.set(h.id, (held.get(h.id) ?? 0) + h.held - h.tried);
    if (trimmed) for (const [id, n] of trimmed) held.set(id, (held.get(id) ?? 0) - n);
    return { changes, held };
  }

  /**
   * One command per key in pipelines per master ({@link RedisConnection.perNodeSettled}, sent once
   * `after` resolved, nothing sent when it rejects); calls of
   * the store's functions that a master did not have (it lost them, or was added since) are sent
   * again once the library is loaded again. Resolves with the replies in order, or rejects with
   * the first error.
   */
  async #calls(keys: readonly string[], call: (p: ChainableCommander, i: number) => unknown, after?: Promise<unknown>): Promise<unknown[]> {
    const settled = await this.#r.perNodeSettled(keys, call, PIPELINE_CHUNK, after);
    const missing: number[] = [];
    for (let i = 0; i < settled.length; i++) if (settled[i][0] !== null && isMissingFunction(settled[i][0])) missing.push(i);
    if (missing.length > 0) {
      await this.#fns.reload(this.#r.cluster);
      const again = await this.#r.perNodeSettled(
        missing.map((i) => keys[i]),
        (p, k) => call(p, missing[k]),
      );
      again.forEach((res, k) => {
        settled[missing[k]] = res;
      });
    }
    const out: unknown[] = new Array(settled.length);
    for (let i = 0; i < settled.length; i++) {
      if (settled[i][0]) throw settled[i][0];
      out[i] = settled[i][1];
    }
    return out;
  }
}

/** One activity id of a fan-out page: its order key, how many feeds were tried and how many took it. */
interface PageId {
  readonly hex: string;
  readonly id: string;
  /** From the id's random digits: picks the adds that trim ({@link trimTurn}). */
  readonly salt: number;
  /** The one-entry list of the changes of feeds that took it, by origin. */
  added?: Map<string | null, readonly TimelineEntry[]>;
  tried: number;
  held: number;
}
