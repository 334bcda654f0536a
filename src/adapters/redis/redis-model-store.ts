import type { ModelSnapshot, ModelStore, NewModelSnapshot } from '../../ports/model-store.js';
import type { RedisConnection } from './connection.js';
import { LuaScript } from './scripts.js';

/**
 * {@link ModelStore} on Redis, in the app's slot: `rv:{<app>}:model:v` (the newest version) and
 * one hash per kept snapshot, `rv:{<app>}:model:<version>` (`seq`, `updates`, `created`, `model`,
 * `state`; the bytes as they are). Saving and loading are one script each, so a reader sees a
 * whole snapshot, the previous newest or this one, never a trimmed one. Every node of the
 * deployment shares the snapshots: a node that serves reads loads what the learning node saved.
 */

// ARGV: keep, seq, updates, created, model, state. Returns the new version.
const SAVE_LUA = `
local b = KEYS[1]
local v = redis.call('INCR', b .. 'model:v')
redis.call('HSET', b .. 'model:' .. v, 'seq', ARGV[2], 'updates', ARGV[3], 'created', ARGV[4], 'model', ARGV[5], 'state', ARGV[6])
local old = v - tonumber(ARGV[1])
while old > 0 and redis.call('DEL', b .. 'model:' .. old) == 1 do old = old - 1 end
return v
`;

// Returns {version, seq, updates, created, model, state} of the newest, or an empty list.
const LATEST_LUA = `
local b = KEYS[1]
local v = redis.call('GET', b .. 'model:v')
if not v then return {} end
local s = redis.call('HMGET', b .. 'model:' .. v, 'seq', 'updates', 'created', 'model', 'state')
if not s[1] then return {} end
return {v, s[1], s[2], s[3], s[4], s[5]}
`;

export class RedisModelStore implements ModelStore {
  readonly #r: RedisConnection;
  readonly #save: LuaScript;
  readonly #latest: LuaScript;

  constructor(r: RedisConnection) {
    this.#r = r;
    this.#save = new LuaScript(r.cluster, 'model_save', SAVE_LUA);
    this.#latest = new LuaScript(r.cluster, 'model_latest', LATEST_LUA);
  }

  #base(app: string): string {
    return this.#r.keys.app(app, '');
  }

  async saveSnapshot(app: string, s: NewModelSnapshot, keep: number): Promise<number> {
    const bytes = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
    const args = [Math.max(1, Math.trunc(keep)), s.seq, String(s.updates), s.createdUs, bytes(s.model), bytes(s.state)];
    const [v] = await this.#r.write((p) => this.#save.run(p, [this.#base(app)], args));
    return Number(v);
  }

  async latestSnapshot(app: string): Promise<ModelSnapshot | null> {
    const row = await this.#latest.runBuffer<Buffer[]>(this.#r.cluster, [this.#base(app)], []);
    if (row.length === 0) return null;
    const [v, seq, updates, created, model, state] = row;
    return {
      version: Number(v.toString()),
      seq: Number(seq.toString()),
      updates: Number(updates.toString()),
      createdUs: Number(created.toString()),
      model: new Uint8Array(model),
      state: new Uint8Array(state),
    };
  }

  async latestVersion(app: string): Promise<number | null> {
    const v = await this.#r.cluster.get(`${this.#base(app)}model:v`);
    return v === null ? null : Number(v);
  }
}
