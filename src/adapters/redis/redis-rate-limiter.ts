import type { RateDecision, RateLimiter } from '../../ports/rate-limiter.js';
import type { RedisConnection } from './connection.js';
import { LuaScript } from './scripts.js';

// Counts one request unless the window's limit is reached; the counter expires after its window (relative to the caller's clock, so clocks of nodes and Redis need not agree).
const HIT_LUA = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
if n >= limit then return {0, n} end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, n}
`;

/**
 * {@link RateLimiter} on Redis: one counter per key and window (`rv:{rl|<key>}:<window start>`),
 * shared by every API node, so an app's limit holds across all of them. One script call per
 * request; counters are not made durable (a lost counter only forgets part of one window).
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #r: RedisConnection;
  readonly #hit: LuaScript;

  constructor(r: RedisConnection) {
    this.#r = r;
    this.#hit = new LuaScript(r.cluster, 'rate_hit', HIT_LUA);
  }

  async hit(key: string, limit: number, windowMs: number, nowMs: number): Promise<RateDecision> {
    const start = nowMs - (nowMs % windowMs);
    const resetMs = start + windowMs;
    const [allowed, n] = await this.#hit.run<[number, number]>(this.#r.cluster, [this.#r.keys.rate(key, start)], [limit, resetMs - nowMs + 1000]);
    return allowed === 1 ? { allowed: true, remaining: Math.max(0, limit - n), resetMs } : { allowed: false, remaining: 0, resetMs };
  }
}
