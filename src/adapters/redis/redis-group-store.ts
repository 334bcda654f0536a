import { idOrderKey } from '../../core/activities/activity-id.js';
import type { ApplyOptions } from '../../ports/timeline-store.js';
import type { FeedGroups, GroupAsk, GroupCounts, GroupRange, GroupRecord, GroupStore, GroupWrite, StoredGroup } from '../../ports/group-store.js';
import type { RedisConnection } from './connection.js';
import { hex16 } from './partitions.js';
import type { RedisActivityHolds } from './redis-activity-holds.js';
import { LuaScript } from './scripts.js';

/**
 * {@link GroupStore} on Redis. Every key of a feed's groups shares the feed's hash tag
 * (`rv:{<app>|f|<feed>}:…`), so a read for a merge and a compare-and-set write are one script:
 *
 * - `gv`: the version (moves with every write), `gc`: counters (groups, unseen, unread);
 * - `g`: group id → the group as JSON (without its marks), `gs`: group id → marks (`00`, `10`
 *   seen, `11` seen and read);
 * - `gk`: aggregation key → group id, `ge`: retained activity id → group id, `gn`: group id →
 *   its retained ids (comma-separated), `gx`: group id → key;
 * - `go`: the groups in page order (lex: updated time as 16 hex digits, then the id's order key),
 *   `gm`: group id → its `go` member.
 *
 * Scripts never re-encode a group's JSON (Lua numbers would round microsecond times): the client
 * sends each group's key, order member and retained ids beside the JSON.
 */

const READ_LUA = `
local b = KEYS[1]
local nkeys, nids, nentries, oldest = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local want, order = {}, {}
local function add(id)
  if id and not want[id] then want[id] = true; order[#order + 1] = id end
end
local k = 5
for _ = 1, nkeys do add(redis.call('HGET', b .. 'gk', ARGV[k]) or nil); k = k + 1 end
for _ = 1, nids do
  if redis.call('HEXISTS', b .. 'g', ARGV[k]) == 1 then add(ARGV[k]) end
  k = k + 1
end
for _ = 1, nentries do add(redis.call('HGET', b .. 'ge', ARGV[k]) or nil); k = k + 1 end
if oldest > 0 then
  for _, m in ipairs(redis.call('ZRANGE', b .. 'go', 0, oldest - 1)) do add(string.sub(m, 49)) end
end
local groups = {}
for _, id in ipairs(order) do
  local json = redis.call('HGET', b .. 'g', id)
  if json then groups[#groups + 1] = {json, redis.call('HGET', b .. 'gs', id) or '00'} end
end
local c = redis.call('HMGET', b .. 'gc', 'groups', 'unseen', 'unread')
return {redis.call('GET', b .. 'gv') or '0', c[1] or '0', c[2] or '0', c[3] or '0', groups}
`;

// Returns 0 when the version moved, else {1, activities the feed retains now and did not before, those it no longer retains}.
const WRITE_LUA = `
local b = KEYS[1]
if (redis.call('GET', b .. 'gv') or '0') ~= ARGV[1] then return 0 end
local mark = ARGV[2]
if mark ~= '' then
  local ids = redis.call('HKEYS', b .. 'g')
  for _, id in ipairs(ids) do
    local cur = redis.call('HGET', b .. 'gs', id) or '00'
    local read = string.sub(cur, 2, 2)
    if mark == '11' then read = '1' end
    redis.call('HSET', b .. 'gs', id, '1' .. read)
  end
end
local function drop(id)
  local key = redis.call('HGET', b .. 'gx', id)
  if key and redis.call('HGET', b .. 'gk', key) == id then redis.call('HDEL', b .. 'gk', key) end
  local entries = redis.call('HGET', b .. 'gn', id)
  if entries then
    for e in string.gmatch(entries, '[^,]+') do
      if redis.call('HGET', b .. 'ge', e) == id then redis.call('HDEL', b .. 'ge', e) end
    end
  end
  local m = redis.call('HGET', b .. 'gm', id)
  if m then redis.call('ZREM', b .. 'go', m) end
  redis.call('HDEL', b .. 'g', id)
  redis.call('HDEL', b .. 'gs', id)
  redis.call('HDEL', b .. 'gx', id)
  redis.call('HDEL', b .. 'gn', id)
  redis.call('HDEL', b .. 'gm', id)
end
-- Which activities the feed retains before and after (the activity sweep counts them).
local touched, order = {}, {}
local function touch(e)
  if touched[e] == nil then touched[e] = redis.call('HEXISTS', b .. 'ge', e); order[#order + 1] = e end
end
local function touchGroup(id)
  local entries = redis.call('HGET', b .. 'gn', id)
  if entries then for e in string.gmatch(entries, '[^,]+') do touch(e) end end
end
local k = 6
local ndrop = tonumber(ARGV[k])
for j = k + 1, k + ndrop do touchGroup(ARGV[j]) end
for j = k + ndrop + 1, #ARGV, 6 do
  touchGroup(ARGV[j])
  for e in string.gmatch(ARGV[j + 5], '[^,]+') do touch(e) end
end
k = k + 1
for _ = 1, ndrop do drop(ARGV[k]); k = k + 1 end
while k <= #ARGV do
  local id, key, member, marks, json, entries = ARGV[k], ARGV[k + 1], ARGV[k + 2], ARGV[k + 3], ARGV[k + 4], ARGV[k + 5]
  k = k + 6
  drop(id)
  redis.call('HSET', b .. 'g', id, json)
  redis.call('HSET', b .. 'gs', id, marks)
  redis.call('HSET', b .. 'gk', key, id)
  redis.call('HSET', b .. 'gx', id, key)
  redis.call('HSET', b .. 'gn', id, entries)
  for e in string.gmatch(entries, '[^,]+') do redis.call('HSET', b .. 'ge', e, id) end
  redis.call('HSET', b .. 'gm', id, member)
  redis.call('ZADD', b .. 'go', 0, member)
end
redis.call('HSET', b .. 'gc', 'groups', ARGV[3], 'unseen', ARGV[4], 'unread', ARGV[5])
redis.call('INCR', b .. 'gv')
local gained, lost = {}, {}
for _, e in ipairs(order) do
  local has = redis.call('HEXISTS', b .. 'ge', e)
  if has > touched[e] then gained[#gained + 1] = e elseif has < touched[e] then lost[#lost + 1] = e end
end
return {1, gained, lost}
`;

// A page of groups, newest first; bounds name groups ('' for none); a bound naming a missing group selects nothing.
const PAGE_LUA = `
local b = KEYS[1]
local offset, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local hiM, hiEx, loM, loEx = nil, false, nil, false
for k, op in ipairs({'lt', 'lte', 'gt', 'gte'}) do
  local id = ARGV[2 + k]
  if id ~= '' then
    local m = redis.call('HGET', b .. 'gm', id)
    if not m then return {} end
    local ex = (op == 'lt' or op == 'gt')
    if op == 'lt' or op == 'lte' then
      if not hiM or m < hiM or (m == hiM and ex) then hiM, hiEx = m, ex end
    else
      if not loM or m > loM or (m == loM and ex) then loM, loEx = m, ex end
    end
  end
end
local hi, lo = '+', '-'
if hiM then hi = (hiEx and '(' or '[') .. hiM end
if loM then lo = (loEx and '(' or '[') .. loM end
local ms = redis.call('ZREVRANGEBYLEX', b .. 'go', hi, lo, 'LIMIT', offset, limit)
local out = {}
for _, m in ipairs(ms) do
  local id = string.sub(m, 49)
  out[#out + 1] = {redis.call('HGET', b .. 'g', id) or '{}', redis.call('HGET', b .. 'gs', id) or '00'}
end
return out
`;

type GroupJson = Omit<StoredGroup, 'seen' | 'read'>;

function stored(json: string, marks: string): StoredGroup {
  const g = JSON.parse(json) as GroupJson;
  return { ...g, seen: marks[0] === '1', read: marks[1] === '1' };
}

/** The page-order member of a group: updated time, then the id's order key, then the id. */
function member(g: StoredGroup): string {
  return `${hex16(g.updatedUs)}${idOrderKey(g.id)}${g.id}`;
}

export class RedisGroupStore implements GroupStore {
  readonly #r: RedisConnection;
  readonly #read: LuaScript;
  readonly #write: LuaScript;
  readonly #page: LuaScript;
  readonly #holds: RedisActivityHolds;

  constructor(r: RedisConnection, holds: RedisActivityHolds) {
    this.#r = r;
    this.#holds = holds;
    this.#read = new LuaScript(r.cluster, 'groups_read', READ_LUA);
    this.#write = new LuaScript(r.cluster, 'groups_write', WRITE_LUA);
    this.#page = new LuaScript(r.cluster, 'groups_page', PAGE_LUA);
  }

  #feed(app: string, feed: string): string {
    return this.#r.keys.feed(app, feed, '');
  }

  async readGroups(app: string, feed: string, range: GroupRange): Promise<GroupRecord[]> {
    const limit = Math.max(0, Math.trunc(range.limit));
    if (limit === 0) return [];
    const rows = await this.#page.run<[string, string][]>(this.#r.cluster, [this.#feed(app, feed)], [
      Math.max(0, Math.trunc(range.offset)),
      limit,
      range.idLt ?? '',
      range.idLte ?? '',
      range.idGt ?? '',
      range.idGte ?? '',
    ]);
    const perGroup = Math.max(0, Math.trunc(range.perGroup));
    return rows.map(([json, marks]) => {
      const g = stored(json, marks);
      return {
        id: g.id,
        key: g.key,
        verb: g.verb,
        activityCount: g.activityCount,
        actorCount: g.actors.length,
        createdUs: g.createdUs,
        updatedUs: g.updatedUs,
        seen: g.seen,
        read: g.read,
        entries: g.entries.slice(0, perGroup).map((e) => ({ id: e.id, origin: e.origin })),
      };
    });
  }

  async groupCounts(app: string, feed: string): Promise<{ unseen: number; unread: number }> {
    const [unseen, unread] = await this.#r.cluster.hmget(`${this.#feed(app, feed)}gc`, 'unseen', 'unread');
    return { unseen: Number(unseen ?? 0), unread: Number(unread ?? 0) };
  }

  async readForMerge(app: string, asks: readonly GroupAsk[]): Promise<FeedGroups[]> {
    return Promise.all(
      asks.map(async (ask) => {
        const keys = ask.keys ?? [];
        const ids = ask.ids ?? [];
        const entries = ask.entryIds ?? [];
        const [version, groups, unseen, unread, rows] = await this.#read.run<[string, string, string, string, [string, string][]]>(this.#r.cluster, [this.#feed(app, ask.feed)], [
          keys.length,
          ids.length,
          entries.length,
          Math.max(0, Math.trunc(ask.oldest ?? 0)),
          ...keys,
          ...ids,
          ...entries,
        ]);
        const counts: GroupCounts = { groups: Number(groups), unseen: Number(unseen), unread: Number(unread) };
        return { feed: ask.feed, version: Number(version), counts, groups: rows.map(([json, marks]) => stored(json, marks)) };
      }),
    );
  }

  async writeGroups(app: string, writes: readonly GroupWrite[], opts: ApplyOptions = {}): Promise<string[]> {
    // The activities the groups put may retain are counted as held before they are written (see
    // RedisActivityHolds); what the writes did not retain is taken back after.
    const tried = new Map<string, number>();
    for (const w of writes) for (const g of w.put) for (const e of g.entries) tried.set(e.id, (tried.get(e.id) ?? 0) + 1);
    await this.#holds.adjust(app, tried);
    const results = await Promise.all(
      writes.map((w) => {
        const args: (string | number)[] = [
          String(w.version),
          w.markAll ? (w.markAll.read ? '11' : '10') : '',
          w.counts.groups,
          w.counts.unseen,
          w.counts.unread,
          w.drop.length,
          ...w.drop,
        ];
        for (const g of w.put) {
          const { seen, read, ...rest } = g;
          args.push(g.id, g.key, member(g), `${seen || read ? '1' : '0'}${read ? '1' : '0'}`, JSON.stringify(rest), g.entries.map((e) => e.id).join(','));
        }
        return this.#write.run<0 | [1, string[], string[]]>(this.#r.cluster, [this.#feed(app, w.feed)], args);
      }),
    );
    const held = new Map([...tried].map(([id, n]) => [id, -n]));
    for (const r of results) {
      if (r === 0) continue;
      for (const id of r[1]) held.set(id, (held.get(id) ?? 0) + 1);
      for (const id of r[2]) held.set(id, (held.get(id) ?? 0) - 1);
    }
    await this.#holds.adjust(app, held);
    // Writes no durable intent redoes are as durable as a write step when the call resolves.
    if (!opts.covered) await this.#r.waitReplicated(writes.filter((_, i) => results[i] !== 0).map((w) => this.#feed(app, w.feed)));
    return writes.filter((_, i) => results[i] === 0).map((w) => w.feed);
  }
}
