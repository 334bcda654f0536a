import type { AuditChange, AuditEntityType, AuditEntry, AuditLog, AuditQuery } from '../../ports/audit-log.js';
import type { FileIndex, FileRecord } from '../../ports/file-index.js';
import type { FlagEntityType, FlagQuery, FlagRecord, FlagStore } from '../../ports/flag-store.js';
import type { RedisConnection } from './connection.js';
import { LuaScript } from './scripts.js';

/**
 * The record stores on Redis: the audit log, moderation flags and the file index of an app, each
 * in the app's hash slot (`rv:{<app>}:…`) so that every change is one Lua script. They are off
 * the feed's hot path except `flagged`, one HMGET per feed page.
 *
 * Records are kept as the JSON text the adapter wrote; scripts decode them only to find the index
 * entries they must update.
 */

// Shared by the scripts: scan a sorted-set index from a bound, keeping records that pass `keep`.
const SCAN = `
local function scan(index, hash, from, to, rev, limit, keep)
  local out = {}
  local offset = 0
  while #out < limit do
    local ids
    if rev then ids = redis.call('ZREVRANGEBYSCORE', index, from, to, 'LIMIT', offset, 200)
    else ids = redis.call('ZRANGEBYSCORE', index, from, to, 'LIMIT', offset, 200) end
    if #ids == 0 then break end
    offset = offset + #ids
    local recs = redis.call('HMGET', hash, unpack(ids))
    for i = 1, #ids do
      local r = recs[i]
      if r and (keep == nil or keep(cjson.decode(r))) then
        out[#out + 1] = r
        if #out >= limit then break end
      end
    end
  end
  return out
end
`;

// Writes entry `seq` (its record and its four indexes); `rest` is the record's JSON less its head.
const AUDIT_PUT = `
local function put(b, seq, at, t, e, u, rest)
  local id = string.format('%d', seq)
  redis.call('HSET', b .. 'audit:e', id, '{"id":"' .. id .. '","createdUs":' .. at .. ',' .. rest)
  redis.call('ZADD', b .. 'audit:all', seq, id)
  redis.call('ZADD', b .. 'audit:t:' .. t, seq, id)
  redis.call('ZADD', b .. 'audit:te:' .. t .. ':' .. e, seq, id)
  redis.call('ZADD', b .. 'audit:us:' .. u, seq, id)
end
`;

const AUDIT_APPEND =
  AUDIT_PUT +
  `
local b = KEYS[1]
local n = tonumber(ARGV[1])
local at = ARGV[2]
local first = redis.call('INCRBY', b .. 'audit:seq', n) - n
for i = 1, n do
  local o = 3 + (i - 1) * 4
  put(b, first + i, at, ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3])
end
return first + n
`;

// Entries of another store (an import): each keeps its id (ARGV[2 + (i - 1) * 6]) when it is above
// every id of the log, else it is numbered anew; each has its own time.
const AUDIT_RESTORE =
  AUDIT_PUT +
  `
local b = KEYS[1]
local n = tonumber(ARGV[1])
local seq = tonumber(redis.call('GET', b .. 'audit:seq') or '0')
for i = 1, n do
  local o = 1 + (i - 1) * 6
  local want = tonumber(ARGV[o + 1])
  if want and want > seq and want == math.floor(want) then seq = want else seq = seq + 1 end
  put(b, seq, ARGV[o + 2], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5], ARGV[o + 6])
end
redis.call('SET', b .. 'audit:seq', string.format('%d', seq))
return seq
`;

const AUDIT_LIST =
  SCAN +
  `
local b = KEYS[1]
local index, before, after, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local ft, fe, fu = ARGV[5], ARGV[6], ARGV[7]
local keep = function(r)
  return (ft == '' or r.entityType == ft) and (fe == '' or r.entityId == fe) and (fu == '' or r.userId == fu)
end
local hi = '+inf'
local lo = '-inf'
if before ~= '' then hi = '(' .. before end
if after ~= '' then lo = '(' .. after end
if after ~= '' and before == '' then return scan(b .. index, b .. 'audit:e', lo, hi, false, limit, keep) end
return scan(b .. index, b .. 'audit:e', hi, lo, true, limit, keep)
`;

/** An audit record's JSON less its head (id, createdUs), which the scripts write. */
function restOf(c: AuditChange): string {
  return JSON.stringify({ entityType: c.entityType, entityId: c.entityId, action: c.action, userId: c.userId, custom: c.custom }).slice(1);
}

/** Audit log entries, numbered per app in append order; indexed by type, entity and user. */
export class RedisAuditLog implements AuditLog {
  readonly #r: RedisConnection;
  readonly #append: LuaScript;
  readonly #restore: LuaScript;
  readonly #list: LuaScript;

  constructor(r: RedisConnection) {
    this.#r = r;
    this.#append = new LuaScript(r.cluster, 'audit_append', AUDIT_APPEND);
    this.#restore = new LuaScript(r.cluster, 'audit_restore', AUDIT_RESTORE);
    this.#list = new LuaScript(r.cluster, 'audit_list', AUDIT_LIST);
  }

  async append(app: string, changes: readonly AuditChange[], atUs: number): Promise<void> {
    if (changes.length === 0) return;
    const args: (string | number)[] = [changes.length, String(Math.trunc(atUs))];
    for (const c of changes) args.push(c.entityType, c.entityId, c.userId, restOf(c));
    await this.#r.write((p) => this.#append.run(p, [this.#r.keys.app(app, '')], args));
  }

  /** Ids are numbers per app here, so an import into an app whose log is empty keeps every id. */
  async restore(app: string, entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const args: (string | number)[] = [entries.length];
    for (const e of entries) args.push(/^\d{1,15}$/.test(e.id) ? e.id : '', String(Math.trunc(e.createdUs)), e.entityType, e.entityId, e.userId, restOf(e));
    await this.#r.write((p) => this.#restore.run(p, [this.#r.keys.app(app, '')], args));
  }

  async list(app: string, q: AuditQuery): Promise<AuditEntry[]> {
    // The most selective index that answers the query; the script filters the rest.
    let index = 'audit:all';
    if (q.entityType !== undefined && q.entityId !== undefined) index = `audit:te:${q.entityType}:${q.entityId}`;
    else if (q.userId !== undefined) index = `audit:us:${q.userId}`;
    else if (q.entityType !== undefined) index = `audit:t:${q.entityType}`;
    const bound = (id: string | undefined) => (id === undefined ? '' : String(Math.trunc(Number(id)) || 0));
    const rows = await this.#list.run<string[]>(this.#r.cluster, [this.#r.keys.app(app, '')], [
      index,
      bound(q.before),
      bound(q.after),
      q.limit,
      q.entityType ?? '',
      q.entityId ?? '',
      q.userId ?? '',
    ]);
    const out = rows.map((r) => JSON.parse(r) as AuditEntry);
    return q.after !== undefined && q.before === undefined ? out.reverse() : out;
  }

  async latest(app: string, entityType: AuditEntityType, entityId: string): Promise<AuditEntry | null> {
    const [row] = await this.list(app, { entityType, entityId, limit: 1 });
    return row ?? null;
  }
}

const FLAG_ADD = `
local b = KEYS[1]
local id, t, e, target, by, rec = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('HEXISTS', b .. 'flags:e', id) == 1 then return 0 end
local seq = redis.call('INCR', b .. 'flags:seq')
redis.call('HSET', b .. 'flags:e', id, rec)
redis.call('ZADD', b .. 'flags:all', seq, id)
redis.call('ZADD', b .. 'flags:t:' .. t, seq, id)
redis.call('ZADD', b .. 'flags:te:' .. t .. ':' .. e, seq, id)
redis.call('HINCRBY', b .. 'flags:n:' .. t, e, 1)
if t == 'stream:user' then redis.call('SADD', b .. 'flags:u:' .. e, id) end
redis.call('SADD', b .. 'flags:u:' .. target, id)
if by ~= '' then redis.call('SADD', b .. 'flags:u:' .. by, id) end
return seq
`;

const FLAG_LIST =
  SCAN +
  `
local b = KEYS[1]
local index, before, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local hi = '+inf'
if before ~= '' then
  local s = redis.call('ZSCORE', b .. 'flags:all', before)
  if not s then return {} end
  hi = '(' .. s
end
return scan(b .. index, b .. 'flags:e', hi, '-inf', true, limit, nil)
`;

const FLAG_FORGET = `
local b = KEYS[1]
local user = ARGV[1]
local ids = redis.call('SMEMBERS', b .. 'flags:u:' .. user)
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', b .. 'flags:e', id)
  if raw then
    local f = cjson.decode(raw)
    local t, e = f.entityType, f.entityId
    redis.call('HDEL', b .. 'flags:e', id)
    redis.call('ZREM', b .. 'flags:all', id)
    redis.call('ZREM', b .. 'flags:t:' .. t, id)
    redis.call('ZREM', b .. 'flags:te:' .. t .. ':' .. e, id)
    if redis.call('HINCRBY', b .. 'flags:n:' .. t, e, -1) <= 0 then redis.call('HDEL', b .. 'flags:n:' .. t, e) end
    if t == 'stream:user' then redis.call('SREM', b .. 'flags:u:' .. e, id) end
    redis.call('SREM', b .. 'flags:u:' .. f.targetUserId, id)
    if f.flaggedBy ~= cjson.null then redis.call('SREM', b .. 'flags:u:' .. f.flaggedBy, id) end
  end
end
redis.call('DEL', b .. 'flags:u:' .. user)
return #ids
`;

/** Moderation flags, in the order they were stored; `flagged` is one HMGET of per-entity counts. */
export class RedisFlagStore implements FlagStore {
  readonly #r: RedisConnection;
  readonly #add: LuaScript;
  readonly #list: LuaScript;
  readonly #forget: LuaScript;

  constructor(r: RedisConnection) {
    this.#r = r;
    this.#add = new LuaScript(r.cluster, 'flag_add', FLAG_ADD);
    this.#list = new LuaScript(r.cluster, 'flag_list', FLAG_LIST);
    this.#forget = new LuaScript(r.cluster, 'flag_forget', FLAG_FORGET);
  }

  async addFlag(app: string, f: FlagRecord): Promise<void> {
    const rec = JSON.stringify(f);
    await this.#r.write((p) => this.#add.run(p, [this.#r.keys.app(app, '')], [f.id, f.entityType, f.entityId, f.targetUserId, f.flaggedBy ?? '', rec]));
  }

  async listFlags(app: string, q: FlagQuery): Promise<FlagRecord[]> {
    let index = 'flags:all';
    if (q.entityType !== undefined && q.entityId !== undefined) index = `flags:te:${q.entityType}:${q.entityId}`;
    else if (q.entityType !== undefined) index = `flags:t:${q.entityType}`;
    else if (q.entityId !== undefined) {
      // An entity id without its type: the flags of that id under each type, merged.
      const per = await Promise.all((['stream:user', 'stream:feeds:v2:activity', 'stream:feeds:v2:reaction'] as const).map((t) => this.listFlags(app, { ...q, entityType: t })));
      const order = new Map<string, number>();
      const all = per.flat();
      const seqs = (await this.#r.cluster.zmscore(this.#r.keys.app(app, 'flags:all'), ...all.map((f) => f.id))) as (string | null)[];
      all.forEach((f, i) => order.set(f.id, Number(seqs[i] ?? 0)));
      return all.sort((x, y) => order.get(y.id)! - order.get(x.id)!).slice(0, q.limit);
    }
    const rows = await this.#list.run<string[]>(this.#r.cluster, [this.#r.keys.app(app, '')], [index, q.before ?? '', q.limit]);
    return rows.map((r) => JSON.parse(r) as FlagRecord);
  }

  async flagged(app: string, entityType: FlagEntityType, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const counts = await this.#r.cluster.hmget(this.#r.keys.app(app, `flags:n:${entityType}`), ...ids);
    const out = new Set<string>();
    ids.forEach((id, i) => {
      if (counts[i] !== null && Number(counts[i]) > 0) out.add(id);
    });
    return out;
  }

  async forgetUser(app: string, userId: string): Promise<void> {
    await this.#r.write((p) => this.#forget.run(p, [this.#r.keys.app(app, '')], [userId]));
  }
}

const FILE_ADD = `
local b = KEYS[1]
local id, parent, variant, owner, created, rec = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if variant ~= '' then
  local existing = redis.call('HGET', b .. 'files:v', parent .. '\\n' .. variant)
  if existing then
    local r = redis.call('HGET', b .. 'files:e', existing)
    if r then return {0, r} end
  end
  redis.call('HSET', b .. 'files:v', parent .. '\\n' .. variant, id)
end
redis.call('HSET', b .. 'files:e', id, rec)
if parent ~= '' then redis.call('SADD', b .. 'files:c:' .. parent, id) end
if owner ~= '' then redis.call('ZADD', b .. 'files:o:' .. owner, created, id) end
return {1}
`;

const FILE_FIND = `
local id = redis.call('HGET', KEYS[1] .. 'files:v', ARGV[1] .. '\\n' .. ARGV[2])
if not id then return false end
return redis.call('HGET', KEYS[1] .. 'files:e', id)
`;

const FILE_DELETE = `
local b = KEYS[1]
local out = {}
local done = {}
local function del(id)
  if done[id] then return end
  done[id] = true
  local raw = redis.call('HGET', b .. 'files:e', id)
  if not raw then return end
  out[#out + 1] = raw
  local f = cjson.decode(raw)
  redis.call('HDEL', b .. 'files:e', id)
  if f.parent ~= cjson.null then
    redis.call('SREM', b .. 'files:c:' .. f.parent, id)
    if f.variant ~= cjson.null then redis.call('HDEL', b .. 'files:v', f.parent .. '\\n' .. f.variant) end
  end
  if f.owner ~= cjson.null then redis.call('ZREM', b .. 'files:o:' .. f.owner, id) end
end
for _, id in ipairs(ARGV) do
  for _, child in ipairs(redis.call('SMEMBERS', b .. 'files:c:' .. id)) do del(child) end
  redis.call('DEL', b .. 'files:c:' .. id)
  del(id)
end
return out
`;

/** The file index: records by id, variants by (parent, variant), files by owner in time order. */
export class RedisFileIndex implements FileIndex {
  readonly #r: RedisConnection;
  readonly #add: LuaScript;
  readonly #find: LuaScript;
  readonly #delete: LuaScript;

  constructor(r: RedisConnection) {
    this.#r = r;
    this.#add = new LuaScript(r.cluster, 'file_add', FILE_ADD);
    this.#find = new LuaScript(r.cluster, 'file_find', FILE_FIND);
    this.#delete = new LuaScript(r.cluster, 'file_delete', FILE_DELETE);
  }

  async addFile(app: string, file: FileRecord): Promise<{ record: FileRecord; created: boolean }> {
    const args = [file.id, file.parent ?? '', file.variant ?? '', file.owner ?? '', file.createdUs, JSON.stringify(file)];
    const [res] = await this.#r.write((p) => this.#add.run(p, [this.#r.keys.app(app, '')], args));
    const [created, existing] = res as [number, string | undefined];
    return created === 1 ? { record: file, created: true } : { record: JSON.parse(existing!) as FileRecord, created: false };
  }

  async getFiles(app: string, ids: readonly string[]): Promise<Map<string, FileRecord>> {
    const out = new Map<string, FileRecord>();
    if (ids.length === 0) return out;
    const rows = await this.#r.cluster.hmget(this.#r.keys.app(app, 'files:e'), ...ids);
    rows.forEach((r, i) => {
      if (r !== null) out.set(ids[i], JSON.parse(r) as FileRecord);
    });
    return out;
  }

  async findVariant(app: string, parent: string, variant: string): Promise<FileRecord | null> {
    const r = await this.#find.run<string | null>(this.#r.cluster, [this.#r.keys.app(app, '')], [parent, variant]);
    return r ? (JSON.parse(r) as FileRecord) : null;
  }

  async deleteFiles(app: string, ids: readonly string[]): Promise<FileRecord[]> {
    if (ids.length === 0) return [];
    const [rows] = await this.#r.write((p) => this.#delete.run(p, [this.#r.keys.app(app, '')], ids));
    return (rows as string[]).map((r) => JSON.parse(r) as FileRecord);
  }

  async filesOf(app: string, owner: string): Promise<FileRecord[]> {
    const ids = await this.#r.cluster.zrange(this.#r.keys.app(app, `files:o:${owner}`), 0, -1);
    if (ids.length === 0) return [];
    const got = await this.getFiles(app, ids);
    return ids.flatMap((id) => got.get(id) ?? []);
  }
}
