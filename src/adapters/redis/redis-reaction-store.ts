import type { LatestQuery, ReactionPageQuery, ReactionRecord, ReactionStore } from '../../ports/reaction-store.js';
import type { RedisConnection } from './connection.js';
import { byPartition, hex16, partitionBase, PARTITIONS, partitionOf } from './partitions.js';
import { LuaScript } from './scripts.js';

/**
 * {@link ReactionStore} on Redis. A reaction lives in the partition of its activity (see
 * `redis-intent-queue.ts`), with its children and the counts of its activity, so a reaction
 * change and its counts are written in the step's one script:
 *
 * - `r:<app>` (id → the fixed fields as JSON), `rp:<app>` (id → data, target feeds and updated
 *   time as JSON), `rd:<app>` (id → soft-delete time, absent when visible), `ro:<app>` (id → its
 *   owner, kind and index member);
 * - `ri:<app>:<owner>` (the owner's reactions, lex order of `created (16 hex digits) + id`), where
 *   the owner is `a:<activity id>` for reactions on an activity and `r:<parent id>` for children;
 * - `rn:<app>:<owner>` (kind → count of visible reactions).
 *
 * A user's reactions are indexed in the user's slot (`{<app>|u|<user>}:rx`, same members), kept
 * by the step's follow-up operation; listings by user read records back, so an index entry of a
 * removed reaction is skipped. Reads that only know reaction ids (by id, children, counts of a
 * reaction) ask every partition in one pipelined round (one round trip per node).
 */

/** The stored parts of a reaction: its owner tag, index member and JSON fields. */
export function reactionKeys(x: ReactionRecord): { owner: string; member: string; core: string; payload: string } {
  return {
    owner: x.parent === '' ? `a:${x.activityId}` : `r:${x.parent}`,
    member: `${hex16(x.createdUs)}${x.id}`,
    core: JSON.stringify({ id: x.id, kind: x.kind, activityId: x.activityId, userId: x.userId, parent: x.parent, depth: x.depth, createdUs: x.createdUs }),
    payload: JSON.stringify({ data: x.data, targetFeeds: x.targetFeeds, updatedUs: x.updatedUs }),
  };
}

/** A reaction from its stored parts (`deleted` is '' when visible). */
export function reactionRecord(core: string, payload: string, deleted: string): ReactionRecord {
  const c = JSON.parse(core) as Omit<ReactionRecord, 'data' | 'targetFeeds' | 'updatedUs' | 'deletedUs'>;
  const p = JSON.parse(payload) as Pick<ReactionRecord, 'data' | 'targetFeeds' | 'updatedUs'>;
  return { ...c, data: p.data, targetFeeds: p.targetFeeds, updatedUs: p.updatedUs, deletedUs: deleted === '' ? null : Number(deleted) };
}

const GET_LUA = `
local b = KEYS[1]
local app, all = ARGV[1], ARGV[2] == '1'
local out = {}
for k = 3, #ARGV do
  local id = ARGV[k]
  local core = redis.call('HGET', b .. 'r:' .. app, id)
  if core then
    local del = redis.call('HGET', b .. 'rd:' .. app, id)
    if all or not del then out[#out + 1] = {core, redis.call('HGET', b .. 'rp:' .. app, id) or '{}', del or ''} end
  end
end
return out
`;

const LIST_LUA = `
local b = KEYS[1]
local app, owner, lo, hi, rev, limit, kind, user, all = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1', tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9] == '1'
local index = b .. 'ri:' .. app .. ':' .. owner
local out = {}
local offset = 0
while #out < limit do
  local ms
  if rev then ms = redis.call('ZREVRANGEBYLEX', index, hi, lo, 'LIMIT', offset, 200) else ms = redis.call('ZRANGEBYLEX', index, lo, hi, 'LIMIT', offset, 200) end
  if #ms == 0 then break end
  offset = offset + #ms
  for _, m in ipairs(ms) do
    local id = string.sub(m, 17)
    local core = redis.call('HGET', b .. 'r:' .. app, id)
    local del = redis.call('HGET', b .. 'rd:' .. app, id)
    if core and (all or not del) then
      local ok = true
      if kind ~= '' or user ~= '' then
        local c = cjson.decode(core)
        if kind ~= '' and c.kind ~= kind then ok = false end
        if user ~= '' and c.userId ~= user then ok = false end
      end
      if ok then
        out[#out + 1] = {core, redis.call('HGET', b .. 'rp:' .. app, id) or '{}', del or ''}
        if #out >= limit then break end
      end
    end
  end
end
return out
`;

const LATEST_LUA = `
local b = KEYS[1]
local app, tag, mode, n, user, nkinds = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local kinds = {}
for k = 7, 6 + nkinds do kinds[ARGV[k]] = true end
local out = {}
for k = 7 + nkinds, #ARGV do
  local index = b .. 'ri:' .. app .. ':' .. tag .. ARGV[k]
  if redis.call('EXISTS', index) == 1 then
    local taken, perKind, full = 0, {}, 0
    -- Per kind over every kind: the counts say which kinds have visible reactions and how many,
    -- so the walk stops once each has its share instead of reading the whole index.
    local want = nkinds
    local cap = {}
    if mode == 'k' and nkinds == 0 and user == '' then
      local h = redis.call('HGETALL', b .. 'rn:' .. app .. ':' .. tag .. ARGV[k])
      want = 0
      for j = 1, #h, 2 do
        local c = tonumber(h[j + 1])
        if c > 0 then want = want + 1; cap[h[j]] = math.min(c, n) end
      end
      if want == 0 then want = -1 end
    end
    local offset = 0
    local done = false
    while not done do
      local ms = redis.call('ZREVRANGE', index, offset, offset + 199)
      if #ms == 0 then break end
      offset = offset + #ms
      for _, m in ipairs(ms) do
        local id = string.sub(m, 17)
        local core = redis.call('HGET', b .. 'r:' .. app, id)
        if core and redis.call('HEXISTS', b .. 'rd:' .. app, id) == 0 then
          local c = cjson.decode(core)
          if (nkinds == 0 or kinds[c.kind]) and (user == '' or c.userId == user) then
            local take = false
            if mode == 'o' then
              take = true
              taken = taken + 1
              if taken >= n then done = true end
            else
              local have = perKind[c.kind] or 0
              if have < n then
                take = true
                perKind[c.kind] = have + 1
                if have + 1 == (cap[c.kind] or n) then full = full + 1 end
                if want > 0 and full >= want then done = true end
              end
            end
            if take then out[#out + 1] = {core, redis.call('HGET', b .. 'rp:' .. app, id) or '{}', ''} end
          end
        end
        if done then break end
      end
    end
  end
end
return out
`;

const COUNTS_LUA = `
local b = KEYS[1]
local app, tag = ARGV[1], ARGV[2]
local out = {}
for k = 3, #ARGV do
  local h = redis.call('HGETALL', b .. 'rn:' .. app .. ':' .. tag .. ARGV[k])
  if #h > 0 then out[#out + 1] = {ARGV[k], h} end
end
return out
`;

const DESCENDANTS_LUA = `
local b = KEYS[1]
local app = ARGV[1]
local queue, seen, out = {}, {}, {}
for k = 2, #ARGV do queue[#queue + 1] = ARGV[k]; seen[ARGV[k]] = true end
local q = 1
while q <= #queue do
  local parent = queue[q]
  q = q + 1
  for _, m in ipairs(redis.call('ZRANGE', b .. 'ri:' .. app .. ':r:' .. parent, 0, -1)) do
    local id = string.sub(m, 17)
    if not seen[id] then
      seen[id] = true
      local core = redis.call('HGET', b .. 'r:' .. app, id)
      if core then
        out[#out + 1] = {core, redis.call('HGET', b .. 'rp:' .. app, id) or '{}', redis.call('HGET', b .. 'rd:' .. app, id) or ''}
        queue[#queue + 1] = id
      end
    end
  end
end
return out
`;

/** The lex bounds of a listing over `created + id` members. */
function bounds(q: ReactionPageQuery): { lo: string; hi: string; rev: boolean } {
  const m = (b: { createdUs: number; id: string }) => `${hex16(b.createdUs)}${b.id}`;
  const pick = (list: [string, boolean][], max: boolean): string | null => {
    if (list.length === 0) return null;
    list.sort(([a, ax], [b, bx]) => (a < b ? -1 : a > b ? 1 : ax === bx ? 0 : ax ? (max ? 1 : -1) : max ? -1 : 1));
    const [v, exclusive] = max ? list[list.length - 1] : list[0];
    return `${exclusive ? '(' : '['}${v}`;
  };
  const uppers: [string, boolean][] = [];
  const lowers: [string, boolean][] = [];
  if (q.lt) uppers.push([m(q.lt), true]);
  if (q.lte) uppers.push([m(q.lte), false]);
  if (q.gt) lowers.push([m(q.gt), true]);
  if (q.gte) lowers.push([m(q.gte), false]);
  return { hi: pick(uppers, false) ?? '+', lo: pick(lowers, true) ?? '-', rev: !(lowers.length > 0 && uppers.length === 0) };
}

const newestFirst = (x: ReactionRecord, y: ReactionRecord) => y.createdUs - x.createdUs || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0);

export class RedisReactionStore implements ReactionStore {
  readonly #r: RedisConnection;
  readonly #get: LuaScript;
  readonly #list: LuaScript;
  readonly #latest: LuaScript;
  readonly #counts: LuaScript;
  readonly #descendants: LuaScript;

  constructor(r: RedisConnection) {
    this.#r = r;
    this.#get = new LuaScript(r.cluster, 'reaction_get', GET_LUA);
    this.#list = new LuaScript(r.cluster, 'reaction_list', LIST_LUA);
    this.#latest = new LuaScript(r.cluster, 'reaction_latest', LATEST_LUA);
    this.#counts = new LuaScript(r.cluster, 'reaction_counts', COUNTS_LUA);
    this.#descendants = new LuaScript(r.cluster, 'reaction_descendants', DESCENDANTS_LUA);
  }

  #part(n: number): string {
    return partitionBase(this.#r.keys, n);
  }

  /** Runs a script on every partition (one pipelined round) and concatenates the rows. */
  async #everywhere(script: LuaScript, args: readonly (string | number)[]): Promise<string[][]> {
    const rows = await Promise.all(Array.from({ length: PARTITIONS }, (_, n) => script.run<string[][]>(this.#r.cluster, [this.#part(n)], args)));
    return rows.flat();
  }

  async getReactions(app: string, ids: readonly string[], includeDeleted = false): Promise<Map<string, ReactionRecord>> {
    const out = new Map<string, ReactionRecord>();
    const unique = [...new Set(ids)];
    if (unique.length === 0) return out;
    for (const [core, payload, del] of await this.#everywhere(this.#get, [app, includeDeleted ? '1' : '0', ...unique])) {
      const rec = reactionRecord(core, payload, del);
      out.set(rec.id, rec);
    }
    return out;
  }

  async listReactions(app: string, q: ReactionPageQuery): Promise<ReactionRecord[]> {
    const limit = Math.max(0, Math.trunc(q.limit));
    if (limit === 0) return [];
    const { lo, hi, rev } = bounds(q);
    const sorted = (list: ReactionRecord[]) => {
      list.sort(newestFirst);
      if (!rev) list.reverse();
      return list.slice(0, limit);
    };
    if (q.lookup.by === 'user_id') return this.#listByUser(app, q, lo, hi, rev, limit);
    const args = [app, q.lookup.by === 'activity_id' ? `a:${q.lookup.value}` : `r:${q.lookup.value}`, lo, hi, rev ? '1' : '0', limit, q.kind ?? '', q.userId ?? '', q.includeDeleted ? '1' : '0'];
    if (q.lookup.by === 'activity_id') {
      const rows = await this.#list.run<string[][]>(this.#r.cluster, [this.#part(partitionOf(q.lookup.value))], args);
      return rows.map(([c, p, d]) => reactionRecord(c, p, d));
    }
    // Children of a reaction: the partition is its activity's, which the id does not tell.
    return sorted((await this.#everywhere(this.#list, args)).map(([c, p, d]) => reactionRecord(c, p, d)));
  }

  async #listByUser(app: string, q: ReactionPageQuery, lo: string, hi: string, rev: boolean, limit: number): Promise<ReactionRecord[]> {
    const key = this.#r.keys.user(app, q.lookup.value, 'rx');
    const out: ReactionRecord[] = [];
    let offset = 0;
    while (out.length < limit) {
      const chunk = Math.max(50, (limit - out.length) * 2);
      const members = rev ? await this.#r.cluster.zrevrangebylex(key, hi, lo, 'LIMIT', offset, chunk) : await this.#r.cluster.zrangebylex(key, lo, hi, 'LIMIT', offset, chunk);
      if (members.length === 0) break;
      offset += members.length;
      const ids = members.map((m) => m.slice(16));
      const recs = await this.getReactions(app, ids, q.includeDeleted);
      for (const id of ids) {
        const r = recs.get(id);
        if (!r || r.userId !== q.lookup.value) continue;
        if (q.kind && r.kind !== q.kind) continue;
        if (q.userId && r.userId !== q.userId) continue;
        out.push(r);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  async latestReactions(app: string, q: LatestQuery): Promise<ReactionRecord[]> {
    const owners = [...new Set(q.owners)];
    if (owners.length === 0) return [];
    const mode = q.perKind !== undefined ? 'k' : 'o';
    const n = q.perKind ?? q.perOwner ?? 10;
    if (n <= 0) return [];
    const kinds = q.kinds ?? [];
    if (q.kinds && kinds.length === 0) return [];
    const head = (list: readonly string[]) => [app, q.of === 'activity' ? 'a:' : 'r:', mode, n, q.userId ?? '', kinds.length, ...kinds, ...list];
    let rows: string[][];
    if (q.of === 'activity') {
      const by = byPartition(owners, partitionOf);
      rows = (await Promise.all([...by].map(([p, list]) => this.#latest.run<string[][]>(this.#r.cluster, [this.#part(p)], head(list))))).flat();
    } else {
      rows = await this.#everywhere(this.#latest, head(owners));
    }
    return rows.map(([c, p, d]) => reactionRecord(c, p, d)).sort(newestFirst);
  }

  async reactionCounts(app: string, owners: readonly string[], of: 'activity' | 'reaction'): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    const unique = [...new Set(owners)];
    if (unique.length === 0) return out;
    let rows: [string, string[]][];
    if (of === 'activity') {
      const by = byPartition(unique, partitionOf);
      rows = (await Promise.all([...by].map(([p, list]) => this.#counts.run<[string, string[]][]>(this.#r.cluster, [this.#part(p)], [app, 'a:', ...list])))).flat();
    } else {
      rows = (await this.#everywhere(this.#counts, [app, 'r:', ...unique])) as unknown as [string, string[]][];
    }
    for (const [owner, flat] of rows) {
      const counts: Record<string, number> = out.get(owner) ?? {};
      for (let i = 0; i + 1 < flat.length; i += 2) counts[flat[i]] = Math.max(0, Number(flat[i + 1]));
      out.set(owner, counts);
    }
    return out;
  }

  async descendants(app: string, ids: readonly string[]): Promise<ReactionRecord[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    return (await this.#everywhere(this.#descendants, [app, ...unique])).map(([c, p, d]) => reactionRecord(c, p, d));
  }
}
