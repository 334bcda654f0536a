/** The outcome of counting one request against a limit. */
export interface RateDecision {
  /** Whether the request is within the limit (it was counted). */
  readonly allowed: boolean;
  /** Requests left in the current window after this one (0 when refused). */
  readonly remaining: number;
  /** When the current window ends, in milliseconds since the Unix epoch. */
  readonly resetMs: number;
}

/**
 * Counts requests per key in fixed windows (rate limits per app and endpoint). A window starts at
 * a multiple of `windowMs` since the epoch, so every process that shares the counters agrees on it.
 * Cost: one counter update per call; a backend shared by many nodes makes the limit hold across
 * them, an in-process one holds per process.
 *
 * @example
 *   const d = await limiter.hit('app1|GET feed/:slug/:uid/', 600, 60_000, Date.now());
 *   if (!d.allowed) // answer 429
 */
export interface RateLimiter {
  /** Counts one request under `key` if `limit` is not yet reached in the window holding `nowMs`. */
  hit(key: string, limit: number, windowMs: number, nowMs: number): RateDecision | Promise<RateDecision>;
}
