import type { RateDecision, RateLimiter } from '../../ports/rate-limiter.js';

/**
 * Rate-limit counters in this process's memory (the embedded store's limiter). With
 * `serve --workers N` every HTTP process counts on its own, so an app may make up to N times its
 * limit. Counters of past windows are dropped as new windows begin.
 */
export class MemoryRateLimiter implements RateLimiter {
  /** Key → [window start (ms), requests counted in it]. */
  readonly #counts = new Map<string, [number, number]>();
  #sweptAt = 0;

  hit(key: string, limit: number, windowMs: number, nowMs: number): RateDecision {
    const start = nowMs - (nowMs % windowMs);
    const resetMs = start + windowMs;
    // Keys are app × endpoint, a bounded set; still, drop stale windows now and then.
    if (nowMs - this.#sweptAt > 60_000) this.#sweep(nowMs);
    let c = this.#counts.get(key);
    if (c === undefined || c[0] !== start) {
      c = [start, 0];
      this.#counts.set(key, c);
    }
    if (c[1] >= limit) return { allowed: false, remaining: 0, resetMs };
    c[1]++;
    return { allowed: true, remaining: limit - c[1], resetMs };
  }

  #sweep(nowMs: number): void {
    this.#sweptAt = nowMs;
    // A counter whose window began over a day ago is over (windows are at most a day).
    for (const [key, [start]] of this.#counts) if (nowMs - start > 86_400_000) this.#counts.delete(key);
  }
}
