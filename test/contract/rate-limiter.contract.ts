import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RateLimiter } from '../../src/ports/rate-limiter.js';

/** Two handles on one set of counters (`a` and `b` stand for two nodes); an in-process adapter gives one object twice. */
export interface RateLimiterUnderTest {
  readonly a: RateLimiter;
  readonly b: RateLimiter;
  close(): Promise<void>;
}

/**
 * The contract of {@link RateLimiter} (src/ports/rate-limiter.ts): fixed windows aligned to
 * multiples of their length, `limit` requests per key and window, counted on every node alike.
 * `skip` names cases an adapter cannot run, each with its reason.
 */
export function rateLimiterContract(adapter: string, make: () => Promise<RateLimiterUnderTest>, skip: Readonly<Record<string, string>> = {}): void {
  describe(`rate limiter contract: ${adapter}`, () => {
    let h: RateLimiterUnderTest;
    let n = 0;
    before(async () => {
      h = await make();
    });
    after(async () => h.close());
    const titles = new Set<string>();
    const test = (title: string, fn: (a: RateLimiter, b: RateLimiter, key: (k: string) => string) => Promise<void>) => {
      titles.add(title);
      const run = ++n;
      if (skip[title]) it(title, { skip: skip[title] }, () => {});
      else it(title, async () => fn(h.a, h.b, (k) => `t${run}|${k}`));
    };
    // A multiple of 60 s.
    const t0 = 1_700_000_040_000;

    test('allows `limit` requests per key and window, then refuses until the window ends', async (a, b, key) => {
      assert.deepEqual(await a.hit(key('x'), 2, 60_000, t0), { allowed: true, remaining: 1, resetMs: t0 + 60_000 });
      assert.deepEqual(await b.hit(key('x'), 2, 60_000, t0 + 10), { allowed: true, remaining: 0, resetMs: t0 + 60_000 });
      assert.deepEqual(await a.hit(key('x'), 2, 60_000, t0 + 59_999), { allowed: false, remaining: 0, resetMs: t0 + 60_000 });
      assert.equal((await b.hit(key('y'), 2, 60_000, t0 + 20)).allowed, true, 'another key has its own count');
      assert.deepEqual(await b.hit(key('x'), 2, 60_000, t0 + 60_000), { allowed: true, remaining: 1, resetMs: t0 + 120_000 }, 'the next window starts afresh');
    });

    test('aligns windows to multiples of their length, so every node agrees on them', async (a, _b, key) => {
      assert.equal((await a.hit(key('k'), 5, 1000, 12_345)).resetMs, 13_000);
    });

    for (const title of Object.keys(skip)) {
      if (!titles.has(title)) throw new Error(`rate limiter contract: the skip list names an unknown case "${title}"`);
    }
  });
}
