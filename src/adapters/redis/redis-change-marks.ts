import type { ChangeMarks, ChangesSince } from '../../ports/change-marks.js';
import type { RedisConnection } from './connection.js';
import { LuaScript } from './scripts.js';

/**
 * {@link ChangeMarks} on Redis: one log for the deployment in a slot of its own
 * (`rv:{rv:|marks}:`): `seq` (the newest position) and `log`, a sorted set scored by position
 * whose members are `<position>\n<keys as JSON>`, trimmed to the newest `keep` marks. Recording is
 * one script (`INCR` and `ZADD` together), so positions follow the order marks were recorded.
 *
 * Writes record their marks after they landed (never before), so a reader that takes the position
 * and then reads sees every write up to it; a write it saw early is named again by the later mark.
 * Every write of every node records here: this one slot's master takes one small script per write.
 */

const RECORD_LUA = `
local b = KEYS[1]
local seq = redis.call('INCR', b .. 'seq')
redis.call('ZADD', b .. 'log', seq, seq .. '\\n' .. ARGV[1])
local keep = tonumber(ARGV[2])
local n = redis.call('ZCARD', b .. 'log')
if n > keep + 64 then redis.call('ZREMRANGEBYRANK', b .. 'log', 0, n - keep - 1) end
return seq
`;

const SINCE_LUA = `
local b = KEYS[1]
local after = tonumber(ARGV[1])
local pos = tonumber(redis.call('GET', b .. 'seq') or '0')
if after >= pos then return {pos, 1, {}} end
local first = redis.call('ZRANGE', b .. 'log', 0, 0, 'WITHSCORES')
local complete = 1
if #first == 0 or tonumber(first[2]) > after + 1 then complete = 0 end
return {pos, complete, redis.call('ZRANGEBYSCORE', b .. 'log', '(' .. after, pos)}
`;

export class RedisChangeMarks implements ChangeMarks {
  readonly #r: RedisConnection;
  readonly #keep: number;
  readonly #base: string;
  readonly #record: LuaScript;
  readonly #since: LuaScript;

  /** `keep`: how many marks the log keeps at least (older ones are pruned). */
  constructor(r: RedisConnection, keep = 100_000) {
    this.#r = r;
    this.#keep = keep;
    this.#base = r.keys.shared('marks', '');
    this.#record = new LuaScript(r.cluster, 'marks_record', RECORD_LUA);
    this.#since = new LuaScript(r.cluster, 'marks_since', SINCE_LUA);
  }

  async position(): Promise<number> {
    return Number((await this.#r.cluster.get(`${this.#base}seq`)) ?? 0);
  }

  async changesSince(after: number): Promise<ChangesSince> {
    const [pos, complete, members] = await this.#since.run<[number, number, string[]]>(this.#r.cluster, [this.#base], [Math.trunc(after)]);
    if (complete !== 1) return { position: Number(pos), keys: [], complete: false };
    const keys: string[] = [];
    for (const m of members) keys.push(...(JSON.parse(m.slice(m.indexOf('\n') + 1)) as string[]));
    return { position: Number(pos), keys, complete: true };
  }

  async record(keys: readonly string[]): Promise<number> {
    return Number(await this.#record.run(this.#r.cluster, [this.#base], [JSON.stringify(keys), this.#keep]));
  }
}
