import type { CollectionStore, EntryRecord, EntryRef, EntryWriteOutcome } from '../../ports/collection-store.js';
import type { PutMode, PutResult, UserRecord, UserStore } from '../../ports/user-store.js';
import type { RedisConnection } from './connection.js';
import { LuaScript } from './scripts.js';

/**
 * {@link UserStore} and {@link CollectionStore} on Redis. Each user is a hash in the user's slot
 * (`rv:{<app>|u|<id>}:usr`: `c` created, `u` updated, `d` data), each collection entry a hash in
 * its own slot (`rv:{<app>|o|<collection>:<id>}:obj`, plus `o` its owner), so every put, update
 * and delete is one script on one slot. A batch is a batch of such scripts sent in one tick (one
 * pipeline per node), checked for bad input before any is sent; the order within a batch is kept
 * for one id (its scripts go to one node in order). Writes are acknowledged per the durability
 * mode (`WAIT 1` after each in `durable`).
 *
 * The entries a user owns are indexed in the user's slot (`rv:{<app>|u|<user>}:own`, members
 * `<collection>\n<id>`): a put naming an owner adds the entry there before it writes the entry, so
 * the index never misses an entry; it may still name entries deleted or given another owner since,
 * which {@link RedisUserData} checks against the entries themselves.
 */

const PUT_USER = `
local k = KEYS[1]
local mode, c, u, d = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cur = redis.call('HMGET', k, 'c', 'u', 'd')
if cur[1] then
  if mode == 'keep' then return {cur[1], cur[2], cur[3], 0} end
  redis.call('HSET', k, 'u', u, 'd', d)
  return {cur[1], u, d, 0}
end
redis.call('HSET', k, 'c', c, 'u', u, 'd', d)
return {c, u, d, 1}
`;

const UPDATE_USER = `
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then return false end
redis.call('HSET', k, 'u', ARGV[2], 'd', ARGV[1])
return redis.call('HMGET', k, 'c', 'u', 'd')
`;

const PUT_ENTRY = `
local k = KEYS[1]
local mode, c, u, d, hasOwner, owner = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local cur = redis.call('HMGET', k, 'c', 'u', 'd', 'o')
if cur[1] then
  if mode == 'keep' then return {cur[1], cur[2], cur[3], cur[4], 0} end
  redis.call('HSET', k, 'u', u, 'd', d)
  if hasOwner == '1' then redis.call('HSET', k, 'o', owner) end
  return {cur[1], u, d, redis.call('HGET', k, 'o'), 0}
end
redis.call('HSET', k, 'c', c, 'u', u, 'd', d)
if hasOwner == '1' then redis.call('HSET', k, 'o', owner) end
return {c, u, d, (hasOwner == '1') and owner or false, 1}
`;

// Replies: {'missing'} | {'not_owner'} | {'done', c, u, d, o}
const UPDATE_ENTRY = `
local k = KEYS[1]
local d, u, check, owner = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cur = redis.call('HMGET', k, 'c', 'o')
if not cur[1] then return {'missing'} end
if check == '1' and cur[2] ~= owner then return {'not_owner'} end
redis.call('HSET', k, 'u', u, 'd', d)
return {'done', cur[1], u, d, cur[2]}
`;

const DELETE_ENTRY = `
local k = KEYS[1]
local check, owner = ARGV[1], ARGV[2]
local cur = redis.call('HMGET', k, 'c', 'o')
if not cur[1] then return 'missing' end
if check == '1' and cur[2] ~= owner then return 'not_owner' end
redis.call('DEL', k)
return 'done'
`;

function checkText(value: unknown, what: string): void {
  if (typeof value !== 'string') throw new TypeError(`${what} must be JSON text`);
}
function checkTime(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`${what} must be an integer`);
}

export class RedisUsersCollections implements UserStore, CollectionStore {
  readonly #r: RedisConnection;
  readonly #putUser: LuaScript;
  readonly #updateUser: LuaScript;
  readonly #putEntry: LuaScript;
  readonly #updateEntry: LuaScript;
  readonly #deleteEntry: LuaScript;

  constructor(r: RedisConnection) {
    this.#r = r;
    this.#putUser = new LuaScript(r.cluster, 'user_put', PUT_USER);
    this.#updateUser = new LuaScript(r.cluster, 'user_update', UPDATE_USER);
    this.#putEntry = new LuaScript(r.cluster, 'entry_put', PUT_ENTRY);
    this.#updateEntry = new LuaScript(r.cluster, 'entry_update', UPDATE_ENTRY);
    this.#deleteEntry = new LuaScript(r.cluster, 'entry_delete', DELETE_ENTRY);
  }

  #user(app: string, id: string): string {
    return this.#r.keys.user(app, id, 'usr');
  }
  #entry(app: string, ref: EntryRef): string {
    return this.#r.keys.object(app, ref.collection, ref.id, 'obj');
  }

  /** Runs one single-slot write per item in this tick, each as durable as the settings ask. */
  async #writeEach<T>(n: number, run: (i: number) => { key: string; script: LuaScript; args: (string | number)[] }): Promise<T[]> {
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const { key, script, args } = run(i);
        const [out] = await this.#r.write((p) => script.run(p, [key], args));
        return out as T;
      }),
    );
  }

  async getUsers(app: string, ids: readonly string[]): Promise<Map<string, UserRecord>> {
    const unique = [...new Set(ids)];
    const rows = await Promise.all(unique.map((id) => this.#r.cluster.hmget(this.#user(app, id), 'c', 'u', 'd')));
    const out = new Map<string, UserRecord>();
    unique.forEach((id, i) => {
      const [c, u, d] = rows[i];
      if (c !== null) out.set(id, { id, data: d ?? '{}', createdUs: Number(c), updatedUs: Number(u) });
    });
    return out;
  }

  async putUsers(app: string, users: readonly UserRecord[], mode: PutMode): Promise<PutResult<UserRecord>[]> {
    users.forEach((u, i) => {
      checkText(u.data, `users[${i}].data`);
      checkTime(u.createdUs, `users[${i}].createdUs`);
      checkTime(u.updatedUs, `users[${i}].updatedUs`);
    });
    const rows = await this.#writeEach<[string, string, string, number]>(users.length, (i) => ({
      key: this.#user(app, users[i].id),
      script: this.#putUser,
      args: [mode, users[i].createdUs, users[i].updatedUs, users[i].data],
    }));
    return rows.map(([c, u, d, created], i) => ({ record: { id: users[i].id, data: d, createdUs: Number(c), updatedUs: Number(u) }, created: created === 1 }));
  }

  async updateUser(app: string, id: string, data: string, updatedUs: number): Promise<UserRecord | null> {
    checkText(data, 'data');
    const [row] = await this.#r.write((p) => this.#updateUser.run(p, [this.#user(app, id)], [data, updatedUs]));
    if (!row) return null;
    const [c, u, d] = row as [string, string, string];
    return { id, data: d, createdUs: Number(c), updatedUs: Number(u) };
  }

  async deleteUsers(app: string, ids: readonly string[]): Promise<string[]> {
    const unique = [...new Set(ids)];
    const gone = await Promise.all(unique.map((id) => this.#r.write((p) => p.del(this.#user(app, id)))));
    return unique.filter((_, i) => Number(gone[i][0]) === 1);
  }

  async getEntries(app: string, refs: readonly EntryRef[]): Promise<Map<string, EntryRecord>> {
    const unique = [...new Map(refs.map((r) => [`${r.collection}:${r.id}`, r])).values()];
    const rows = await Promise.all(unique.map((r) => this.#r.cluster.hmget(this.#entry(app, r), 'c', 'u', 'd', 'o')));
    const out = new Map<string, EntryRecord>();
    unique.forEach((r, i) => {
      const [c, u, d, o] = rows[i];
      if (c !== null) out.set(`${r.collection}:${r.id}`, { collection: r.collection, id: r.id, data: d ?? '{}', userId: o, createdUs: Number(c), updatedUs: Number(u) });
    });
    return out;
  }

  async putEntries(app: string, entries: readonly EntryRecord[], mode: PutMode): Promise<PutResult<EntryRecord>[]> {
    entries.forEach((e, i) => {
      checkText(e.data, `entries[${i}].data`);
      checkTime(e.createdUs, `entries[${i}].createdUs`);
      checkTime(e.updatedUs, `entries[${i}].updatedUs`);
    });
    // The owners' indexes first (one step per owner, in this tick): an entry is never stored unindexed.
    const owned = new Map<string, string[]>();
    for (const e of entries) if (e.userId !== null) owned.set(e.userId, [...(owned.get(e.userId) ?? []), `${e.collection}\n${e.id}`]);
    await Promise.all([...owned].map(([user, members]) => this.#r.write((p) => p.zadd(this.#r.keys.user(app, user, 'own'), ...members.flatMap((m) => [0, m])))));
    const rows = await this.#writeEach<[string, string, string, string | null, number]>(entries.length, (i) => {
      const e = entries[i];
      return { key: this.#entry(app, e), script: this.#putEntry, args: [mode, e.createdUs, e.updatedUs, e.data, e.userId === null ? '0' : '1', e.userId ?? ''] };
    });
    return rows.map(([c, u, d, o, created], i) => ({
      record: { collection: entries[i].collection, id: entries[i].id, data: d, userId: o ?? null, createdUs: Number(c), updatedUs: Number(u) },
      created: created === 1,
    }));
  }

  async updateEntry(app: string, ref: EntryRef, data: string, updatedUs: number, ifOwner?: string): Promise<EntryWriteOutcome<EntryRecord>> {
    checkText(data, 'data');
    const [row] = await this.#r.write((p) => this.#updateEntry.run(p, [this.#entry(app, ref)], [data, updatedUs, ifOwner === undefined ? '0' : '1', ifOwner ?? '']));
    const [kind, c, u, d, o] = row as [string, string?, string?, string?, (string | null)?];
    if (kind === 'missing') return { kind: 'missing' };
    if (kind === 'not_owner') return { kind: 'not_owner' };
    return { kind: 'done', value: { collection: ref.collection, id: ref.id, data: d!, userId: o ?? null, createdUs: Number(c), updatedUs: Number(u) } };
  }

  async deleteEntries(app: string, refs: readonly EntryRef[], ifOwner?: string): Promise<EntryWriteOutcome<null>[]> {
    const rows = await this.#writeEach<string>(refs.length, (i) => ({ key: this.#entry(app, refs[i]), script: this.#deleteEntry, args: [ifOwner === undefined ? '0' : '1', ifOwner ?? ''] }));
    return rows.map((kind) => (kind === 'done' ? { kind: 'done', value: null } : kind === 'not_owner' ? { kind: 'not_owner' } : { kind: 'missing' }));
  }
}
